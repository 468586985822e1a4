/**
 * A light gRPC client for load generation: gRPC over node:http2 with hand-written framing, one
 * HTTP/2 connection per instance, messages passed as encoded bytes. It speaks the same protocol as
 * grpc-js (the server cannot tell them apart) at a fraction of grpc-js's client-side CPU per call,
 * so on a 2-core machine more of the CPU is left for the server under test. It has no retries,
 * no compression, no name resolution: 127.0.0.1 benchmarks only.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { encodeGrpcFrame, GrpcFrameDecoder } from './grpc-frames.js';

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
