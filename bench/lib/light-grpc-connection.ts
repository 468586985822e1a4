/**
 * A light gRPC client for load generation: gRPC over node:http2 with hand-written framing, one
 * HTTP/2 connection per instance, messages passed as encoded bytes. It speaks the same protocol as
 * grpc-js (the server cannot tell them apart) at a fraction of grpc-js's client-side CPU per call,
 * so on a 2-core machine more of the CPU is left for the server under test. It has no retries,
 * no compression, no name resolution: 127.0.0.1 benchmarks only.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';

/**
 * gRPC's length-prefixed message framing over HTTP/2 DATA: one byte "compressed" flag (always 0
 * here), a 4-byte big-endian length, the message. DATA chunks may split or join frames.
 */
export function encodeGrpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Reassembles messages from DATA chunks in arrival order; joins a message's chunks once, when it is complete. */
export class GrpcFrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Prefix plus message length of the message being received; undefined until its prefix is in. */
  private needed: number | undefined;

  /** Adds a chunk; returns the messages it completed (their bytes, without the prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.needed === undefined) {
        if (this.length < 5) break;
        const prefix = this.joined();
        if (prefix[0] !== 0) throw new Error('compressed gRPC messages are not supported');
        this.needed = 5 + prefix.readUInt32BE(1);
      }
      if (this.length < this.needed) break;
      const all = this.joined();
      out.push(all.subarray(5, this.needed));
      const rest = all.subarray(this.needed);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
      this.needed = undefined;
    }
    return out;
  }

  /** Everything buffered as one Buffer (joining the chunks, once, if there are several). */
  private joined(): Buffer {
    const first = this.chunks[0];
    if (this.chunks.length === 1 && first !== undefined) return first;
    const all = Buffer.concat(this.chunks, this.length);
    this.chunks = [all];
    return all;
  }
}

export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    details: string,
  ) {
    super(`gRPC status ${code}: ${details}`);
  }
}

/** grpc-status / grpc-message of a trailers (or trailers-only headers) block; undefined if absent. */
function statusOf(headers: IncomingHttpHeaders): GrpcCallError | null | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  if (code === 0) return null;
  const message = headers['grpc-message'];
  return new GrpcCallError(code, decodeURIComponent(typeof message === 'string' ? message : ''));
}

export interface StreamHandlers {
  readonly onMessage: (message: Buffer) => void;
  /** The stream ended: null for status OK, else the error. Not called after cancel(). */
  readonly onEnd: (error: Error | null) => void;
}

export class LightGrpcConnection {
  private readonly session: ClientHttp2Session;
  private closed = false;

  constructor(address: string) {
    this.session = http2.connect(`http://${address}`);
    this.session.on('error', () => undefined); // surfaced through the calls' streams
  }

  /** One unary call; resolves with the response message's bytes. */
  unary(path: string, request: Uint8Array, deadlineMs = 30_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.open(path, deadlineMs);
      const decoder = new GrpcFrameDecoder();
      let response: Buffer | undefined;
      let status: GrpcCallError | null | undefined;
      stream.on('response', (headers) => {
        status = statusOf(headers); // trailers-only response (an error)
      });
      stream.on('data', (chunk: Buffer) => {
        for (const m of decoder.push(chunk)) response = m;
      });
      stream.on('trailers', (trailers: IncomingHttpHeaders) => {
        status = statusOf(trailers);
      });
      stream.on('error', reject);
      stream.on('close', () => {
        if (status === null && response !== undefined) resolve(response);
        else reject(status ?? new Error(`stream closed without a gRPC status (HTTP/2 code ${stream.rstCode})`));
      });
      stream.end(encodeGrpcFrame(request));
    });
  }

  /** One server-streaming call; returns its cancel function. */
  serverStream(path: string, request: Uint8Array, handlers: StreamHandlers): () => void {
    const stream = this.open(path, 0);
    const decoder = new GrpcFrameDecoder();
    let cancelled = false;
    let status: GrpcCallError | null | undefined;
    stream.on('response', (headers) => {
      status = statusOf(headers);
    });
    stream.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) handlers.onMessage(m);
    });
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      status = statusOf(trailers);
    });
    stream.on('error', () => undefined); // reported on close
    stream.on('close', () => {
      if (!cancelled) handlers.onEnd(status === undefined ? new Error('stream closed without a gRPC status') : status);
    });
    stream.end(encodeGrpcFrame(request));
    return () => {
      cancelled = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
  }

  private open(path: string, deadlineMs: number): ClientHttp2Stream {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    if (deadlineMs > 0) headers['grpc-timeout'] = `${Math.ceil(deadlineMs)}m`;
    return this.session.request(headers);
  }
}
