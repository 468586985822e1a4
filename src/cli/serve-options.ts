/**
 * Every `herald serve` setting in one table: flag, environment variable, default (taken from the
 * code's own defaults) and where it goes in the server configuration. --help and the README's
 * configuration table are both checked against it.
 */
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_REGISTRY_OPTIONS, type RegistryOptions } from '../core/options.js';
import { DEFAULT_SERVER_CONFIG, PROBE_KINDS, type ServerConfig } from '../server/config.js';
import { LOG_LEVELS, type LogLevel } from '../common/logger.js';
import { decimal, integer, oneOf, onOff } from './parse.js';
import { parseEurekaPeers, parsePeers } from '../cluster/peer-addresses.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type TopLevelKey = Exclude<keyof ServerConfig, 'registry'>;

/** Everything `serve` needs: the server configuration plus the log level. */
export interface ServeSettings {
  config: Mutable<Omit<ServerConfig, 'registry'>> & { registry: Partial<Mutable<RegistryOptions>> };
  logLevel: LogLevel;
}

export interface ServeOption {
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  /** The default as shown in --help and the README. */
  readonly defaultText: string;
  readonly parse: (value: string) => unknown;
  readonly apply: (settings: ServeSettings, value: unknown) => void;
  /** The configuration key it sets, to name the flag in configuration errors. */
  readonly key: string;
}

const MAX_MS = 2_147_483_647;

/** Where `herald serve` keeps its store unless told otherwise (relative to the working directory). */
export const SERVE_DEFAULT_DATA_DIR = 'data';

/** A list parser whose RangeError becomes commander's error for the flag. */
function listOf(parse: (value: string) => string[]): (value: string) => string[] {
  return (value) => {
    try {
      return parse(value);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

/** A string that must not be empty (a path or a secret). */
function nonEmpty(flag: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw new InvalidArgumentError(`${flag} must not be empty`);
    return value;
  };
}

function server(key: TopLevelKey, flag: string, env: string, description: string, parse: (v: string) => unknown, shown?: string): ServeOption {
  return {
    flag,
    env,
    description,
    defaultText: shown ?? String(DEFAULT_SERVER_CONFIG[key]),
    key,
    parse,
    apply: (s, v) => {
      (s.config as Record<string, unknown>)[key] = v;
    },
  };
}

function registry(key: keyof RegistryOptions, flag: string, env: string, description: string, parse: (v: string) => unknown, shown?: string): ServeOption {
  return {
    flag,
    env,
    description,
    defaultText: shown ?? String(DEFAULT_REGISTRY_OPTIONS[key]),
    key,
    parse,
    apply: (s, v) => {
      (s.config.registry as Record<string, unknown>)[key] = v;
    },
  };
}

export const SERVE_OPTIONS: readonly ServeOption[] = [
  server('host', '--host <address>', 'HERALD_HOST', 'interface to listen on', (v) => v),
  server('port', '--port <port>', 'HERALD_PORT', 'gRPC port (0 picks a free one)', integer(0, 65_535)),
  server(
    'mergeWindowMs',
    '--merge-window-ms <ms>',
    'HERALD_MERGE_WINDOW_MS',
    'a lone change is pushed at once; changes within this window after a push become one push',
    integer(0, 10_000),
  ),
  server('fanOutSliceSize', '--fan-out-slice-size <n>', 'HERALD_FAN_OUT_SLICE_SIZE', 'subscribers pushed to per event-loop turn during a fan-out', integer(1, 1_000_000)),
  registry('defaultLeaseDurationMs', '--lease-duration-ms <ms>', 'HERALD_LEASE_DURATION_MS', 'lease duration when a registrant gives none', integer(1, MAX_MS)),
  registry('defaultRenewalIntervalMs', '--renewal-interval-ms <ms>', 'HERALD_RENEWAL_INTERVAL_MS', 'renewal interval when a registrant gives none', integer(1, MAX_MS)),
  registry('minLeaseDurationMs', '--min-lease-duration-ms <ms>', 'HERALD_MIN_LEASE_DURATION_MS', 'shortest lease a registrant may ask for', integer(1, MAX_MS)),
  registry('maxLeaseDurationMs', '--max-lease-duration-ms <ms>', 'HERALD_MAX_LEASE_DURATION_MS', 'longest lease a registrant may ask for', integer(1, MAX_MS)),
  server('evictionIntervalMs', '--eviction-interval-ms <ms>', 'HERALD_EVICTION_INTERVAL_MS', 'how often expired leases are evicted', integer(10, MAX_MS)),
  registry('selfPreservation', '--self-preservation <on|off>', 'HERALD_SELF_PRESERVATION', 'stop evicting when renewals fall below the threshold', onOff, 'on'),
  registry(
    'renewalPercentThreshold',
    '--renewal-percent-threshold <share>',
    'HERALD_RENEWAL_PERCENT_THRESHOLD',
    'share of expected renewals under which self-preservation engages; also caps each eviction run',
    decimal(0.01, 1),
  ),
  registry(
    'selfPreservationMinInstances',
    '--self-preservation-min-instances <n>',
    'HERALD_SELF_PRESERVATION_MIN_INSTANCES',
    'self-preservation never engages with fewer lease-bound instances',
    integer(0, 1_000_000_000),
  ),
  registry('deltaRetentionMs', '--delta-retention-ms <ms>', 'HERALD_DELTA_RETENTION_MS', 'how long changes stay available to FetchDelta', integer(0, MAX_MS)),
  registry('emptyServiceRetentionMs', '--empty-service-retention-ms <ms>', 'HERALD_EMPTY_SERVICE_RETENTION_MS', 'how long an empty service is kept', integer(0, MAX_MS)),
  registry(
    'cacheMillis',
    '--cache-millis <ms>',
    'HERALD_CACHE_MILLIS',
    'how long clients may trust a snapshot before polling (at most half of --udp-target-expiry-ms while UDP push is on)',
    integer(0, MAX_MS),
  ),
  registry('defaultProtectThreshold', '--protect-threshold <share>', 'HERALD_PROTECT_THRESHOLD', 'protect threshold of services without one (0 = off)', decimal(0, 1)),
  registry('maxNameLength', '--max-name-length <n>', 'HERALD_MAX_NAME_LENGTH', 'longest namespace, group, service or cluster name', integer(1, 65_535)),
  registry('maxInstanceIdLength', '--max-instance-id-length <n>', 'HERALD_MAX_INSTANCE_ID_LENGTH', 'longest instance id', integer(1, 65_535)),
  registry('maxInstancesPerService', '--max-instances-per-service <n>', 'HERALD_MAX_INSTANCES_PER_SERVICE', 'most instances one service may hold', integer(1, 10_000_000)),
  registry('maxMetadataEntries', '--max-metadata-entries <n>', 'HERALD_MAX_METADATA_ENTRIES', 'most metadata entries per instance or service', integer(0, 100_000)),
  registry('maxMetadataKeyLength', '--max-metadata-key-length <n>', 'HERALD_MAX_METADATA_KEY_LENGTH', 'longest metadata key', integer(1, 65_535)),
  registry('maxMetadataBytes', '--max-metadata-bytes <n>', 'HERALD_MAX_METADATA_BYTES', 'most bytes of metadata keys plus values', integer(0, 16_777_216)),
  registry(
    'maxClockSkewMs',
    '--max-clock-skew-ms <ms>',
    'HERALD_MAX_CLOCK_SKEW_MS',
    "how far ahead of this node's clock a caller's last_dirty_timestamp or a peer's write version may be",
    integer(1, MAX_MS),
  ),
  registry(
    'tombstoneRetentionMs',
    '--tombstone-retention-ms <ms>',
    'HERALD_TOMBSTONE_RETENTION_MS',
    "how long a cancel is remembered at least, so no peer's older copy brings the instance back (also at least its lease + --max-clock-skew-ms)",
    integer(1, MAX_MS),
  ),
  registry(
    'persistentTombstoneRetentionMs',
    '--persistent-tombstone-retention-ms <ms>',
    'HERALD_PERSISTENT_TOMBSTONE_RETENTION_MS',
    'how long the cancel of a persistent (non-ephemeral) instance is remembered, and how long the status override of an ephemeral instance waits for it to register again',
    integer(1, MAX_MS),
  ),
  registry('maxTombstones', '--max-tombstones <n>', 'HERALD_MAX_TOMBSTONES', 'most cancels remembered; beyond it the oldest are forgotten early', integer(1, 1_000_000_000)),
  server('maxMessageBytes', '--max-message-bytes <n>', 'HERALD_MAX_MESSAGE_BYTES', 'largest request message accepted', integer(1_024, 2_147_483_647)),
  server('maxPushesInFlight', '--max-pushes-in-flight <n>', 'HERALD_MAX_PUSHES_IN_FLIGHT', 'unflushed pushes per subscriber before newer ones replace pending', integer(1, 1_000)),
  server(
    'maxSubscribeStreams',
    '--max-subscribe-streams <n>',
    'HERALD_MAX_SUBSCRIBE_STREAMS',
    'most Subscribe streams (each watch of a Watch stream counts as one) open on the server, and apart from them xDS streams; more are refused with RESOURCE_EXHAUSTED',
    integer(1, 10_000_000),
  ),
  server(
    'maxSubscribeStreamsPerConnection',
    '--max-subscribe-streams-per-connection <n>',
    'HERALD_MAX_SUBSCRIBE_STREAMS_PER_CONNECTION',
    'most Subscribe streams (and watches) open on one client connection, and apart from them xDS streams, and the resources one xDS stream follows per type; more are refused with RESOURCE_EXHAUSTED',
    integer(1, 10_000_000),
  ),
  server('keepaliveTimeMs', '--keepalive-time-ms <ms>', 'HERALD_KEEPALIVE_TIME_MS', 'interval of keepalive pings that find dead peers', integer(1_000, MAX_MS)),
  server('keepaliveTimeoutMs', '--keepalive-timeout-ms <ms>', 'HERALD_KEEPALIVE_TIMEOUT_MS', 'how long a keepalive ping may go unanswered', integer(100, MAX_MS)),
  server('shutdownGraceMs', '--shutdown-grace-ms <ms>', 'HERALD_SHUTDOWN_GRACE_MS', 'on shutdown, how long open calls get to finish', integer(0, MAX_MS)),
  server(
    'pauseThresholdMs',
    '--pause-threshold-ms <ms>',
    'HERALD_PAUSE_THRESHOLD_MS',
    'a stop of the server (SIGSTOP, a blocked event loop) longer than this is not held against leases',
    integer(10, MAX_MS),
  ),
  server(
    'heartbeatCheckIntervalMs',
    '--heartbeat-check-interval-ms <ms>',
    'HERALD_HEARTBEAT_CHECK_INTERVAL_MS',
    'how often beat-kept (Nacos) instances are checked: overdue ones turn unhealthy, expired ones are removed',
    integer(10, MAX_MS),
  ),
  server('nacosApi', '--nacos-api <on|off>', 'HERALD_NACOS_API', 'serve the Nacos v1 open API over HTTP', onOff, 'on'),
  server(
    'httpPort',
    '--http-port <port>',
    'HERALD_HTTP_PORT',
    'HTTP port of the Nacos v1, Eureka REST and Consul-compatible APIs, the web console, /metrics, /livez and /readyz (0 picks a free one)',
    integer(0, 65_535),
  ),
  server('eurekaApi', '--eureka-api <on|off>', 'HERALD_EUREKA_API', 'serve the Eureka REST API over HTTP', onOff, 'on'),
  server('console', '--console <on|off>', 'HERALD_CONSOLE', 'serve the web console at / on the HTTP port (see docs/console.md)', onOff, 'on'),
  server('eurekaBasePath', '--eureka-base-path <path>', 'HERALD_EUREKA_BASE_PATH', 'base path of the Eureka REST API (<path>/v2 is served too)', (v) => v),
  server('eurekaNamespace', '--eureka-namespace <namespace>', 'HERALD_EUREKA_NAMESPACE', 'namespace Eureka apps live in (services of its default group)', (v) => v),
  server('xds', '--xds <on|off>', 'HERALD_XDS', 'serve xDS (ADS) on the gRPC port, so gRPC clients dial xds:///<service> (see docs/xds.md)', onOff, 'on'),
  server('consulApi', '--consul-api <on|off>', 'HERALD_CONSUL_API', 'serve the Consul-compatible HTTP API under /v1 (see docs/consul.md)', onOff, 'on'),
  server(
    'consulNamespace',
    '--consul-namespace <namespace>',
    'HERALD_CONSUL_NAMESPACE',
    'namespace Consul services live in (services of its default group) unless a request passes ?ns=',
    (v) => v,
  ),
  server(
    'consulMaxBlockingQueries',
    '--consul-max-blocking-queries <n>',
    'HERALD_CONSUL_MAX_BLOCKING_QUERIES',
    'Consul blocking queries (?index=) held at once; more are answered 429',
    integer(1, 1_000_000),
  ),
  server('nacosBeatIntervalMs', '--nacos-beat-interval-ms <ms>', 'HERALD_NACOS_BEAT_INTERVAL_MS', 'beat interval asked of Nacos clients', integer(100, MAX_MS)),
  server(
    'nacosBeatTimeoutMs',
    '--nacos-beat-timeout-ms <ms>',
    'HERALD_NACOS_BEAT_TIMEOUT_MS',
    'a Nacos-registered instance turns unhealthy after this long without a beat',
    integer(100, MAX_MS),
  ),
  server(
    'nacosIpDeleteTimeoutMs',
    '--nacos-ip-delete-timeout-ms <ms>',
    'HERALD_NACOS_IP_DELETE_TIMEOUT_MS',
    'a Nacos-registered instance is removed after this long without a beat',
    integer(1_000, MAX_MS),
  ),
  server('udpPush', '--udp-push <on|off>', 'HERALD_UDP_PUSH', 'push by UDP to callers that pull with a UDP port', onOff, 'on'),
  server(
    'udpTargetExpiryMs',
    '--udp-target-expiry-ms <ms>',
    'HERALD_UDP_TARGET_EXPIRY_MS',
    'a UDP push target that has not pulled again within this long is dropped; cache_millis is kept at half of it',
    integer(100, MAX_MS),
  ),
  server('udpAckTimeoutMs', '--udp-ack-timeout-ms <ms>', 'HERALD_UDP_ACK_TIMEOUT_MS', 'wait this long for a UDP push ack before sending again', integer(10, MAX_MS)),
  server('udpMaxRetries', '--udp-max-retries <n>', 'HERALD_UDP_MAX_RETRIES', 'resends of an unacked UDP push before it counts as failed', integer(0, 100)),
  server(
    'udpReceiveBufferBytes',
    '--udp-receive-buffer-bytes <n>',
    'HERALD_UDP_RECEIVE_BUFFER_BYTES',
    'receive buffer of the UDP push socket, where acks queue (the kernel may cap it)',
    integer(65_536, 1_073_741_824),
  ),
  server('udpSendBatchSize', '--udp-send-batch-size <n>', 'HERALD_UDP_SEND_BATCH_SIZE', 'UDP push packets sent per event-loop turn', integer(1, 1_000_000)),
  server('peers', '--peers <host:port,...>', 'HERALD_PEERS', "the cluster's nodes (gRPC addresses); this node's own entry is skipped", listOf(parsePeers), '(none)'),
  server(
    'eurekaPeers',
    '--eureka-peers <url,...>',
    'HERALD_EUREKA_PEERS',
    'Eureka servers (service URLs such as http://host:8761/eureka) that get changes to Eureka apps in peer batches',
    listOf(parseEurekaPeers),
    '(none)',
  ),
  server(
    'clusterSecret',
    '--cluster-secret <secret>',
    'HERALD_CLUSTER_SECRET',
    'secret every peer call must carry (required for peers on a non-loopback address; prefer the env var: flags show in ps)',
    nonEmpty('--cluster-secret'),
    '(none)',
  ),
  server(
    'authFile',
    '--auth-file <path>',
    'HERALD_AUTH_FILE',
    'turns authentication on: users, service accounts, tokens and roles (YAML or JSON; reloaded when it changes; see docs/security.md)',
    nonEmpty('--auth-file'),
    '(auth off)',
  ),
  server(
    'authTokenKey',
    '--auth-token-key <key>',
    'HERALD_AUTH_TOKEN_KEY',
    "key that signs access tokens from logins; nodes sharing it accept each other's tokens",
    nonEmpty('--auth-token-key'),
    '(derived from --cluster-secret, else random per start)',
  ),
  server('authTokenTtlMs', '--auth-token-ttl-ms <ms>', 'HERALD_AUTH_TOKEN_TTL_MS', 'how long an access token from a login is valid', integer(1_000, MAX_MS)),
  server('reloadIntervalMs', '--reload-interval-ms <ms>', 'HERALD_RELOAD_INTERVAL_MS', 'how often the auth file and the TLS files are checked for changes', integer(10, MAX_MS)),
  server(
    'tlsCert',
    '--tls-cert <path>',
    'HERALD_TLS_CERT',
    'PEM certificate chain: serve gRPC and HTTP over TLS (with --tls-key; reloaded when it changes)',
    nonEmpty('--tls-cert'),
    '(plain text)',
  ),
  server('tlsKey', '--tls-key <path>', 'HERALD_TLS_KEY', 'PEM private key of --tls-cert', nonEmpty('--tls-key'), '(none)'),
  server(
    'tlsCa',
    '--tls-ca <path>',
    'HERALD_TLS_CA',
    'PEM CA bundle: clients must present a certificate it signed (mutual TLS); peers are verified with it',
    nonEmpty('--tls-ca'),
    '(no client certificates)',
  ),
  server('nodeId', '--node-id <id>', 'HERALD_NODE_ID', "this node's id in the cluster", (v) => v, '(random)'),
  server('replicationBatchSize', '--replication-batch-size <n>', 'HERALD_REPLICATION_BATCH_SIZE', 'most replication tasks per batch', integer(1, 10_000)),
  server(
    'replicationBatchDelayMs',
    '--replication-batch-delay-ms <ms>',
    'HERALD_REPLICATION_BATCH_DELAY_MS',
    'replication tasks wait this long for others to join their batch',
    integer(0, 60_000),
  ),
  server(
    'replicationTaskExpiryMs',
    '--replication-task-expiry-ms <ms>',
    'HERALD_REPLICATION_TASK_EXPIRY_MS',
    'a replication task not delivered within this long is dropped (anti-entropy repairs later)',
    integer(100, MAX_MS),
  ),
  server('replicationQueueSize', '--replication-queue-size <n>', 'HERALD_REPLICATION_QUEUE_SIZE', 'most replication tasks queued per peer', integer(1, 10_000_000)),
  server(
    'replicationRetryBaseMs',
    '--replication-retry-base-ms <ms>',
    'HERALD_REPLICATION_RETRY_BASE_MS',
    'first delay before retrying a failed batch (it doubles up to --replication-retry-max-ms)',
    integer(1, MAX_MS),
  ),
  server('replicationRetryMaxMs', '--replication-retry-max-ms <ms>', 'HERALD_REPLICATION_RETRY_MAX_MS', 'longest delay between retries of a failed batch', integer(10, MAX_MS)),
  server('syncTimeoutMs', '--sync-timeout-ms <ms>', 'HERALD_SYNC_TIMEOUT_MS', 'how long a starting node waits for a peer to sync from', integer(0, MAX_MS)),
  server('verifyIntervalMs', '--verify-interval-ms <ms>', 'HERALD_VERIFY_INTERVAL_MS', 'how often checksums are compared with each peer (anti-entropy)', integer(100, MAX_MS)),
  server('peerCallTimeoutMs', '--peer-call-timeout-ms <ms>', 'HERALD_PEER_CALL_TIMEOUT_MS', 'deadline of calls to peers', integer(100, MAX_MS)),
  server('metrics', '--metrics <on|off>', 'HERALD_METRICS', 'serve Prometheus metrics at /metrics on the HTTP port (see docs/operations.md)', onOff, 'on'),
  server('metricsAuth', '--metrics-auth <on|off>', 'HERALD_METRICS_AUTH', 'with --auth-file, /metrics needs read on every namespace; off opens it to every caller', onOff, 'on'),
  server(
    'metricsPerService',
    '--metrics-per-service <on|off>',
    'HERALD_METRICS_PER_SERVICE',
    'instances per service too (one series per service: only where services are few)',
    onOff,
    'off',
  ),
  {
    flag: '--data-dir <dir>',
    env: 'HERALD_DATA_DIR',
    description:
      'directory of the durable store (SQLite): persistent instances, their cancels, service settings and the status overrides of ephemeral instances survive restarts; "none" keeps everything in memory (see docs/durability.md)',
    defaultText: `./${SERVE_DEFAULT_DATA_DIR}`,
    key: 'dataDir',
    parse: nonEmpty('--data-dir'),
    apply: (s, v) => {
      s.config.dataDir = v === 'none' ? undefined : (v as string);
    },
  },
  server(
    'probeDefault',
    '--probe-default <tcp|http|none>',
    'HERALD_PROBE_DEFAULT',
    'how persistent instances are health-checked when their metadata or service does not say (herald.probe)',
    oneOf(PROBE_KINDS),
  ),
  server('probeIntervalMs', '--probe-interval-ms <ms>', 'HERALD_PROBE_INTERVAL_MS', 'how often each persistent instance is probed', integer(100, MAX_MS)),
  server('probeTimeoutMs', '--probe-timeout-ms <ms>', 'HERALD_PROBE_TIMEOUT_MS', 'a probe not answered within this long failed', integer(10, MAX_MS)),
  server(
    'probeUnhealthyThreshold',
    '--probe-unhealthy-threshold <n>',
    'HERALD_PROBE_UNHEALTHY_THRESHOLD',
    'failed probes in a row that show an instance unhealthy',
    integer(1, 1_000),
  ),
  server('probeHealthyThreshold', '--probe-healthy-threshold <n>', 'HERALD_PROBE_HEALTHY_THRESHOLD', 'successful probes in a row that show it healthy again', integer(1, 1_000)),
  server('probeConcurrency', '--probe-concurrency <n>', 'HERALD_PROBE_CONCURRENCY', 'most health probes in flight at once', integer(1, 100_000)),
  {
    flag: '--log-level <level>',
    env: 'HERALD_LOG_LEVEL',
    description: `log level (${LOG_LEVELS.join(', ')}); logs are JSON lines on stderr`,
    defaultText: 'info',
    key: 'logLevel',
    parse: oneOf(LOG_LEVELS),
    apply: (s, v) => {
      s.logLevel = v as LogLevel;
    },
  },
];

/** The option's attribute name as commander derives it from the flag. */
export function attributeName(o: ServeOption): string {
  const long = o.flag.split(' ')[0]?.replace(/^--/, '') ?? '';
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function commanderOption(o: ServeOption): Option {
  // The value stays unset so the code's defaults apply; the default is shown in the text instead.
  return new Option(o.flag, `${o.description} (default: ${o.defaultText})`).env(o.env).argParser(o.parse);
}

/** Builds settings from parsed options: unset ones keep the code's defaults. */
export function settingsFrom(parsed: Record<string, unknown>): ServeSettings {
  const { registry: _r, ...top } = DEFAULT_SERVER_CONFIG;
  const settings: ServeSettings = { config: { ...top, dataDir: SERVE_DEFAULT_DATA_DIR, registry: {} }, logLevel: 'info' };
  for (const o of SERVE_OPTIONS) {
    const v = parsed[attributeName(o)];
    if (v !== undefined) o.apply(settings, v);
  }
  return settings;
}

/** Rewrites configuration keys in a message as the flags that set them (e.g. for RangeErrors). */
export function inFlagTerms(message: string): string {
  let out = message;
  for (const o of SERVE_OPTIONS) out = out.replace(new RegExp(`\\b${o.key}\\b`, 'g'), o.flag.split(' ')[0] ?? o.key);
  return out;
}
