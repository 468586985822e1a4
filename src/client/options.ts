/** Options of createRegistryClient, with their defaults. */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { silentLogger, type Logger } from '../common/logger.js';
import { resolveSecurity, type SecurityOptions } from './connection-security.js';
import type { ReconnectBackoff } from './registry-transport.js';
import type { TransportFactory } from './transport.js';

/** How the client learns about changes. */
export type PushMode = 'grpc' | 'udp' | 'poll';

export interface RegistryClientOptions {
  /** Server addresses (host:port), tried in turn and sticky until failure. Required. */
  readonly servers: readonly string[];
  /** Namespace of everything this client does. Default "public". */
  readonly namespace?: string;
  /**
   * 'grpc': a watch per key (all keys on one Watch stream per server) plus the poll fallback (default); 'udp': UDP pushes to a
   * receiver on port 0, kept alive by polling; 'poll': polling only.
   */
  readonly mode?: PushMode;
  /** Local address of the UDP receiver in 'udp' mode. Default 0.0.0.0. */
  readonly udpBindHost?: string;
  /** Directory for the failover copy of the cache; unset = no disk copy. */
  readonly cacheDir?: string;
  /** Seed the cache from cacheDir at start (served as stale until refreshed). Default false. */
  readonly loadCacheAtStart?: boolean;
  /** Never let an empty host list replace a non-empty one. Default true. */
  readonly emptyPushProtection?: boolean;
  /** How long getServiceInfo waits for an in-flight fetch of the same key. Default 5000 ms. */
  readonly updateHoldMs?: number;
  /** Shortest poll interval (and first back-off step). Default 1000 ms. */
  readonly pollIntervalMinMs?: number;
  /** Longest poll interval (and back-off bound). Default 60000 ms. */
  readonly pollIntervalMaxMs?: number;
  /**
   * Longest delay between heartbeat retries (the back-off bound). Default 30000 ms. The shorter of
   * this and resubscribeBackoffMaxMs also bounds the gRPC channel's reconnect back-off.
   */
  readonly heartbeatBackoffMaxMs?: number;
  /** Longest delay before reopening a broken push stream. Default 10000 ms. See heartbeatBackoffMaxMs. */
  readonly resubscribeBackoffMaxMs?: number;
  /** Deadline of each call. Default 5000 ms. */
  readonly callTimeoutMs?: number;
  /** Scheduler for every timer (inject a VirtualTimeScheduler in tests). Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Structured logger. Default: silent. */
  readonly logger?: Logger;
  /** Uniform [0, 1) source for jitter and weighted selection. Default Math.random. */
  readonly random?: () => number;
  /** Builds the transport for an address (tests pass doubles). Default: gRPC. */
  readonly transportFactory?: TransportFactory;
  /**
   * TLS and credentials, for a server with them on: `{ tls: { ca }, token }` or `{ username,
   * password }` (logs in and refreshes the access token before it expires). A refusal
   * (UNAUTHENTICATED, PERMISSION_DENIED) is permanent: it is reported, never retried.
   */
  readonly security?: SecurityOptions;
}

export type ResolvedClientOptions = Required<Omit<RegistryClientOptions, 'cacheDir' | 'transportFactory' | 'security'>> &
  Pick<RegistryClientOptions, 'cacheDir' | 'transportFactory' | 'security'>;


export const CLIENT_DEFAULTS = Object.freeze({
  namespace: 'public',
  mode: 'grpc',
  loadCacheAtStart: false,
  emptyPushProtection: true,
  updateHoldMs: 5_000,
  pollIntervalMinMs: 1_000,
  pollIntervalMaxMs: 60_000,
  heartbeatBackoffMaxMs: 30_000,
  resubscribeBackoffMaxMs: 10_000,
  callTimeoutMs: 5_000,
  udpBindHost: '0.0.0.0',
});

export function resolveClientOptions(o: RegistryClientOptions): ResolvedClientOptions {
  if (o.servers.length === 0) throw new RangeError('servers: at least one address is required');
  const r: ResolvedClientOptions = {
    ...CLIENT_DEFAULTS,
    scheduler: asyncScheduler,
    logger: silentLogger,
    random: Math.random,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    servers: [...o.servers],
    security: resolveSecurity(o.security),
  };
  for (const k of ['updateHoldMs', 'pollIntervalMinMs', 'pollIntervalMaxMs', 'heartbeatBackoffMaxMs', 'resubscribeBackoffMaxMs', 'callTimeoutMs'] as const) {
    if (!(r[k] > 0)) throw new RangeError(`${k} must be positive`);
  }
  if (r.pollIntervalMinMs > r.pollIntervalMaxMs) throw new RangeError('pollIntervalMinMs exceeds pollIntervalMaxMs');
  if (r.loadCacheAtStart && r.cacheDir === undefined) throw new RangeError('loadCacheAtStart needs cacheDir');
  return r;
}

/**
 * The gRPC channel's reconnect back-off, derived from the SDK's own retry settings: attempts start
 * 1 s apart (less if the bound is lower) and grow (grpc-js: × 1.6, ±20 % jitter) up to the shorter of
 * heartbeatBackoffMaxMs and resubscribeBackoffMaxMs. grpc-js's own bound is 120 s: a channel left on
 * it connects long after the SDK's retries start failing fast, and recovery takes that long.
 */
export function channelReconnectBackoff(o: Pick<ResolvedClientOptions, 'heartbeatBackoffMaxMs' | 'resubscribeBackoffMaxMs'>): ReconnectBackoff {
  const maxMs = Math.min(o.heartbeatBackoffMaxMs, o.resubscribeBackoffMaxMs);
  return { initialMs: Math.min(1_000, maxMs), maxMs };
}
