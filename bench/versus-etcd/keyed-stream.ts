/**
 * Request/response over one bidi stream, as etcd's LeaseKeepAlive and herald's KeepAlive are used:
 * every request gets one response carrying the same key (etcd: the lease ID; herald: the request's
 * tag), so many requests can be in flight on the stream. Requests with the same key are answered
 * in order. When the stream fails, every pending and later request fails with its error.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';

interface Pending<Res> {
  readonly resolve: (response: Res) => void;
  readonly reject: (error: Error) => void;
}

export class KeyedStream<Req, Res> {
  private readonly pending = new Map<string, Pending<Res>[]>();
  private failure: Error | undefined;

  constructor(
    private readonly call: ClientDuplexStream<Req, Res>,
    /** The key a response answers. */
    keyOf: (response: Res) => string,
  ) {
    call.on('data', (response: Res) => {
      const key = keyOf(response);
      const queue = this.pending.get(key);
      const p = queue?.shift();
      if (queue?.length === 0) this.pending.delete(key);
      p?.resolve(response);
    });
    call.on('error', (e: Error) => {
      this.fail(e);
    });
    call.on('end', () => {
      this.fail(new Error('stream ended by the server'));
    });
  }

  /** Sends `request` and resolves with the response of the same `key`. */
  request(key: string, request: Req): Promise<Res> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const queue = this.pending.get(key);
      if (queue === undefined) this.pending.set(key, [{ resolve, reject }]);
      else queue.push({ resolve, reject });
      this.call.write(request);
    });
  }

  close(): void {
    this.fail(new Error('closed'));
    this.call.cancel();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const queue of this.pending.values()) for (const p of queue) p.reject(this.failure);
    this.pending.clear();
  }
}
