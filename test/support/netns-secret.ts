/**
 * The partition cluster's secret: its nodes listen on non-loopback addresses, which needs one. On
 * its own so the client agent (a plain process inside a namespace, not under vitest) can import it
 * without the test helpers that register vitest hooks.
 */
export const NETNS_CLUSTER_SECRET = 'partition-test-secret';
