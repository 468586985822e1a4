/** Commands of a UDP push target process (target-main.ts), shared by both ends. */
import type { TallyResult } from '../push-latency/subscriber-tally.js';

export interface TargetLoadConfig {
  /** The server's gRPC address; each target registers by a GetService carrying its UDP port. */
  readonly address: string;
  readonly service: string;
  readonly targets: number;
  /** The instance whose metadata carries the change tag. */
  readonly taggedInstanceId: string;
  readonly firstMeasured: number;
  readonly lastMeasured: number;
  /** Registering pulls in flight at a time. */
  readonly pullsInFlight: number;
}

export interface TargetLoadResult extends TallyResult {
  readonly targets: number;
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

export interface TargetCommands {
  /** Binds every target's socket and registers it; resolves once all pulls are answered. */
  open: { arg: TargetLoadConfig; result: { openMs: number; firstPort: number } };
  /** Waits (up to timeoutMs) until every target has seen change `untilSeq`, then tallies (sockets stay open until exit, so late resends are still acknowledged). */
  collect: { arg: { untilSeq: number; timeoutMs: number }; result: TargetLoadResult };
}
