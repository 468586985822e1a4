/** The server's configuration: transport settings plus the registry's rules and limits. */
import type { RegistryOptions } from '../core/options.js';

export interface ServerConfig {
  /** Interface to bind, e.g. 0.0.0.0, 127.0.0.1 or ::. */
  readonly host: string;
  /** gRPC port; 0 picks a free one. */
  readonly port: number;
  /** Changes to one service within this window become one push. */
  readonly mergeWindowMs: number;
  /** How often the eviction task runs. */
  readonly evictionIntervalMs: number;
  /** Largest request message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Pushes a subscriber may have unflushed before newer snapshots replace pending ones. */
  readonly maxPushesInFlight: number;
  /** Interval of the server's HTTP/2 keepalive pings, which find dead peers. */
  readonly keepaliveTimeMs: number;
  /** How long a keepalive ping may go unanswered before the connection is closed. */
  readonly keepaliveTimeoutMs: number;
  /** On shutdown, how long open calls get to finish before connections are closed. */
  readonly shutdownGraceMs: number;
  /** Registry rules and limits; unset ones take the core's defaults. */
  readonly registry: Partial<RegistryOptions>;
}

export const DEFAULT_SERVER_CONFIG: ServerConfig = Object.freeze({
  host: '0.0.0.0',
  port: 7070,
  mergeWindowMs: 5,
  evictionIntervalMs: 60_000,
  maxMessageBytes: 4 * 1024 * 1024,
  maxPushesInFlight: 1,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  shutdownGraceMs: 5_000,
  registry: {},
});

/** host:port, bracketing IPv6 literals. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
