/**
 * A separate process embedding the SDK: registers one instance and keeps it alive until killed.
 * Prints "registered <id>" once registered. Args: <server> <service> <leaseMs> <renewMs> [<port>].
 */
import { createRegistryClient } from '../../src/client/index.js';

const [server = '', service = '', lease = '1000', renew = '300', port = '7777'] = process.argv.slice(2);
const client = createRegistryClient({ servers: [server] });
const handle = client.register({ service, ip: '10.7.7.7', port: Number(port), leaseDurationMs: Number(lease), renewalIntervalMs: Number(renew) });
handle.state$.subscribe((s) => {
  if (s.kind === 'registered') process.stdout.write(`registered ${s.instance.instanceId}\n`);
});
