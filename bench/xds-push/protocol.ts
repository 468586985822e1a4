/**
 * The commands of xds-push's child processes (see ../xds-push.ts). Every time is the child's
 * `wallNowMs()` (performance.timeOrigin + performance.now()), comparable with the driver's.
 * The waiting commands are long polls: the child answers when the event has happened (or
 * `timeoutMs` has passed: `atMs` NaN), so nothing is timed by polling.
 */

/** The callers that may run in a round: grpc-js-xds dialling xds:///<service>, and herald's own grpc-js resolver dialling herald:///<service>. */
export const CALLERS = ['xds', 'resolver'] as const;
export type CallerKind = (typeof CALLERS)[number];

/**
 * The echo method, one path per caller (any bytes in, the server's name out), so that the echo
 * servers tell the callers' calls apart at no cost per call. herald's route matches every path.
 */
export const ECHO_PATHS: { readonly [K in CallerKind]: string } = { xds: '/herald.bench.Echo/Echo', resolver: '/herald.bench.Echo/EchoResolver' };

/** An echo server the echo process started: the name it answers with and its port. */
export interface EchoServerInfo {
  readonly name: string;
  readonly port: number;
}

export interface EchoCommands {
  /** Starts one echo server per name on 127.0.0.1:0. */
  start: { arg: { names: readonly string[] }; result: EchoServerInfo[] };
  /** When the first call of `caller` reached `name` (at once if one already has). */
  firstCall: { arg: { caller: CallerKind; name: string; timeoutMs: number }; result: { atMs: number } };
  /**
   * Waits until `name` has had no call of `caller` for `quietMs`; the last such call's arrival and
   * the calls of `caller` that reached it after `sinceMs` (the cancel).
   */
  lastCall: { arg: { caller: CallerKind; name: string; sinceMs: number; quietMs: number; timeoutMs: number }; result: { atMs: number; callsSince: number } };
  /** Calls of `caller` each server has answered so far. */
  counts: { arg: { caller: CallerKind }; result: Record<string, number> };
}

export interface CallerConfig {
  /** xds:///<name> or herald:///<name>. */
  readonly target: string;
  /** herald's gRPC addresses, for the herald:/// resolver (the xDS client reads its bootstrap instead). */
  readonly servers: readonly string[];
  /** The echo method's path (ECHO_PATHS). */
  readonly method: string;
  readonly callsPerSecond: number;
  /** Calls in flight beyond which a due call is skipped (counted). */
  readonly maxInFlight: number;
  readonly deadlineMs: number;
}

export interface CallerStats {
  readonly calls: number;
  readonly ok: number;
  readonly errors: number;
  /** Due calls not made because maxInFlight were in flight. */
  readonly skipped: number;
  readonly firstError: string | undefined;
}

export interface CallerCommands {
  /** Opens the channel and starts calling. */
  start: { arg: CallerConfig; result: undefined };
  stats: { arg: undefined; result: CallerStats };
  /** Clears the counters (after the warm-up). */
  reset: { arg: undefined; result: undefined };
}

export interface SubscribeCommands {
  /** Subscribes (RegistryTransport.subscribe: snapshots, decoded) to `service` at `address`, and opens the bare ADS stream for it. */
  start: { arg: { address: string; service: string }; result: undefined };
  /** When a received ServiceInfo first held instance `id` (at once if the current one does). */
  present: { arg: { id: string; timeoutMs: number }; result: { atMs: number } };
  /** When a received ServiceInfo first no longer held instance `id`, after it had held it. */
  absent: { arg: { id: string; timeoutMs: number }; result: { atMs: number } };
  /** When a ClusterLoadAssignment received on the bare ADS stream first held an endpoint on `port`. */
  edsPresent: { arg: { port: number; timeoutMs: number }; result: { atMs: number } };
  /** When one first no longer held it, after one had. */
  edsAbsent: { arg: { port: number; timeoutMs: number }; result: { atMs: number } };
  /** ServiceInfos received and stream errors so far; ADS responses and stream errors. */
  stats: { arg: undefined; result: { received: number; errors: number; firstError: string | undefined; adsResponses: number; adsErrors: number } };
}
