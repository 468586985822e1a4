/** Commands of a subscriber-memory load process (load-main.ts), shared by both ends. */

export interface OpenConfig {
  readonly address: string;
  /** Streams are spread round-robin over these services. */
  readonly services: readonly string[];
  readonly streams: number;
  /** TCP connections (grpc-js channels with their own subchannel pool); streams are spread over them. */
  readonly connections: number;
  /** Stop reading after the first message: the stream is paused, so HTTP/2 flow control backs up. */
  readonly pause: boolean;
  /** Streams opened at a time. */
  readonly openBatch: number;
  /** Give up waiting for first messages after this long. */
  readonly timeoutMs: number;
}

export interface LoadStatus {
  /** Streams opened and not ended. */
  readonly open: number;
  /** Streams that received their first message. */
  readonly subscribed: number;
  /** Messages handed to the application ('data' events; a paused stream stops after its first). */
  readonly messages: number;
  /** Messages received but held in the open streams' buffers (a paused stream keeps taking them until its HTTP/2 window is full). */
  readonly bufferedMessages: number;
  /** Hosts in the last snapshot received (the snapshot size the server pushes). */
  readonly lastHosts: number;
  /** Ended streams by gRPC status code name (CANCELLED after our own cancel). */
  readonly ended: Readonly<Record<string, number>>;
  readonly firstError: string | undefined;
}

export interface LoadCommands {
  /** Opens the streams; resolves once each has its first message or has ended (or on timeout). */
  open: { arg: OpenConfig; result: LoadStatus & { openMs: number } };
  status: { arg: undefined; result: LoadStatus };
  /** Cancels every open stream; resolves once all have ended. */
  cancel: { arg: { timeoutMs: number }; result: LoadStatus & { cancelMs: number } };
  /** Closes the channels (their connections end). */
  close: { arg: undefined; result: undefined };
}
