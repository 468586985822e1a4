/**
 * One push stream per cache key (a watch on the server's shared Watch stream), shared by everyone who needs pushes for it: opened on the
 * first subscription, closed when the last one leaves. A broken stream is reported to the server
 * list (which may move to another server) and reopened with back-off; each push is applied to the
 * cache through the same rules as pulls.
 */
import { defer, finalize, ignoreElements, Observable, repeat, retry, share, tap, timer, type SchedulerLike } from 'rxjs';
import type { Logger } from '../common/logger.js';
import { parseCacheKey } from './cache-key.js';
import type { ServiceCall } from './transport.js';
import type { ServerList } from './server-list.js';
import type { ServiceCache } from './service-cache.js';

export interface PushStreamsDeps {
  readonly servers: ServerList;
  readonly cache: ServiceCache;
  readonly namespace: string;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** First resubscribe delay; doubles up to `backoffMaxMs`. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export class PushStreams {
  private readonly streams = new Map<string, Observable<never>>();

  constructor(private readonly deps: PushStreamsDeps) {}

  /** The key's stream: subscribe to keep pushes flowing into the cache. Emits nothing. */
  stream$(key: string): Observable<never> {
    let s = this.streams.get(key);
    if (s === undefined) {
      s = this.open(key);
      this.streams.set(key, s);
    }
    return s;
  }

  /** Keys with an open stream. */
  get openKeys(): number {
    return this.streams.size;
  }

  private open(key: string): Observable<never> {
    const { servers, cache, scheduler, logger, backoffBaseMs, backoffMaxMs } = this.deps;
    const { group, service, clusters } = parseCacheKey(key);
    const req: ServiceCall = { namespace: this.deps.namespace, group, service, clusters };
    const delay = (attempt: number) => timer(Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(attempt - 1, 20)), scheduler);
    const stream: Observable<never> = defer(() => {
      const address = servers.current;
      return servers
        .transport(address)
        .subscribe(req)
        .pipe(
          tap({
            next: (info) => {
              servers.reportSuccess(address);
              cache.apply(key, info, 'push', address);
            },
            error: (e: unknown) => {
              logger.info({ key, server: address, error: String(e) }, 'push stream broke; resubscribing');
              servers.reportFailure(address, e);
            },
          }),
        );
    }).pipe(
      // Back-off restarts from the base once a push arrives on the new stream.
      retry({ resetOnSuccess: true, delay: (_e, attempt) => delay(attempt) }),
      // A stream the server ends with OK (it never should) is reopened like a broken one.
      repeat({ delay: () => delay(1) }),
      ignoreElements(),
      finalize(() => {
        if (this.streams.get(key) === stream) this.streams.delete(key);
      }),
      share({ resetOnRefCountZero: true }),
    );
    return stream;
  }
}
