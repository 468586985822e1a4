/**
 * Nacos's updating guard: one pull per cache key at a time, shared by every caller; the pull runs
 * to its end whether or not anyone still waits, and its result goes through the cache's rules. In
 * UDP mode every pull carries the receiver's port, which makes this client a push target.
 */
import { finalize, from, ignoreElements, type Observable, of, shareReplay, switchMap, tap } from 'rxjs';
import { parseCacheKey } from './cache-key.js';
import type { ServerList } from './server-list.js';
import type { ServiceCache } from './service-cache.js';
import type { ServiceCall } from './transport.js';

export interface PullGuardDeps {
  readonly servers: ServerList;
  readonly cache: ServiceCache;
  readonly namespace: string;
  /** Resolves with the UDP receiver's port once bound ('udp' mode); undefined otherwise. */
  readonly udpPort: Promise<number | undefined> | undefined;
}

export class PullGuard {
  private readonly inflight = new Map<string, Observable<void>>();

  constructor(private readonly deps: PullGuardDeps) {}

  /** Whether a pull of `key` is under way. */
  pulling(key: string): boolean {
    return this.inflight.has(key);
  }

  /** Pulls `key` into the cache, or joins the pull under way; completes when it is applied. */
  pull$(key: string): Observable<void> {
    const existing = this.inflight.get(key);
    if (existing !== undefined) return existing;
    const { servers, cache, namespace, udpPort } = this.deps;
    const { group, service, clusters } = parseCacheKey(key);
    const call: ServiceCall = { namespace, group, service, clusters };
    const pull: Observable<void> = (udpPort === undefined ? of(undefined) : from(udpPort))
      .pipe(switchMap((port) => servers.call((t) => t.getService(port === undefined ? call : { ...call, udpPort: port }))))
      .pipe(
        tap(({ value, server }) => {
          cache.apply(key, value, 'pull', server);
        }),
        ignoreElements(),
        finalize(() => {
          if (this.inflight.get(key) === pull) this.inflight.delete(key);
        }),
        shareReplay({ bufferSize: 1, refCount: false }),
      );
    this.inflight.set(key, pull);
    pull.subscribe({ error: () => undefined });
    return pull;
  }
}
