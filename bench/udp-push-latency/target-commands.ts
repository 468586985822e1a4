/** Commands of a UDP push target process (target-main.ts), shared by both ends. */
import type { PushLoadCommands, PushLoadConfig } from '../lib/push/load-protocol.js';
import type { TallyResult } from '../lib/push/subscriber-tally.js';

/**
 * `subscribers` is the number of targets; each registers by a GetService carrying its UDP port,
 * `openBatch` of those pulls in flight at a time.
 */
export type TargetLoadConfig = PushLoadConfig;

export interface TargetLoadResult extends TallyResult {
  /** Per target: datagrams received that carried a measured change (resends included). */
  readonly measuredPackets: Int32Array;
  /** Datagrams whose change the target had already seen (a resend, or the same change twice). */
  readonly duplicates: number;
  /** Datagrams that were not a readable dom packet with the tag. */
  readonly unreadable: number;
  /** Acks sent. */
  readonly acks: number;
  /** Per received measured packet: arrival (first line of the handler) to decoded tag, µs. */
  readonly decodeUs: Float64Array;
  /** Size of the last packet received, on the wire (gzip) and as ServiceInfo JSON text. */
  readonly packetBytes: number;
  readonly serviceInfoBytes: number;
}

/**
 * `open` binds every target's socket and registers it, resolving once all pulls are answered;
 * `collect` tallies, and the sockets stay open until exit, so late resends are still acknowledged.
 */
export type TargetCommands = PushLoadCommands<TargetLoadConfig, TargetLoadResult>;
