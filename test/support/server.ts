/** Starts real servers on 127.0.0.1:0 and clients for them; everything is closed after each test. */
import { afterEach } from 'vitest';
import { firstValueFrom, filter, ReplaySubject, throwError, timeout, type Observable } from 'rxjs';
import { silentLogger } from '../../src/common/logger.js';
import { HeraldServer, type HeraldServerDeps } from '../../src/server/herald-server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import type { ServiceInfo } from '../../src/gen/herald/v1/model.js';

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

export async function startServer(config: Partial<ServerConfig> = {}, deps: Partial<HeraldServerDeps> = {}): Promise<HeraldServer> {
  const server = await HeraldServer.start({ logger: silentLogger, ...deps, config: { host: '127.0.0.1', port: 0, httpPort: 0, ...config } });
  cleanups.push(() => server.close());
  return server;
}

export function connect(server: HeraldServer | number): RegistryTransport {
  const port = typeof server === 'number' ? server : server.port;
  const t = new RegistryTransport(`127.0.0.1:${port}`);
  cleanups.push(() => {
    t.close();
  });
  return t;
}

/** Registers a cleanup to run after the test (LIFO). */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** Collects every value of an observable into an array, for assertions. */
export function record<T>(source: Observable<T>): { values: T[]; errors: unknown[]; stop(): void } {
  const values: T[] = [];
  const errors: unknown[] = [];
  const sub = source.subscribe({ next: (v) => values.push(v), error: (e: unknown) => errors.push(e) });
  cleanups.push(() => {
    sub.unsubscribe();
  });
  return { values, errors, stop: () => { sub.unsubscribe(); } };
}

/** Resolves with the first value matching `predicate`. */
export function waitFor<T>(source: Observable<T>, predicate: (v: T) => boolean): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate)));
}

/** Polls `check` on the event loop until it returns true (no fixed sleeps; bounded by the test timeout). */
export async function eventually(check: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => {
      setTimeout(r, 5);
    });
  }
}

export function hostIds(info: ServiceInfo): string[] {
  return info.hosts.map((h) => h.instanceId);
}

/**
 * Follows a source (e.g. a Subscribe stream) for the whole test: `values` holds everything seen;
 * `until` resolves with the latest value, or the first one to come, matching `predicate`, or fails
 * after `limitMs` with `what` and `context()` in the message. The limit only bounds a hung test;
 * it is never an assertion on how fast something happened.
 */
export function follow<T>(source: Observable<T>): { values: T[]; until(predicate: (v: T) => boolean, what: string, context?: () => string, limitMs?: number): Promise<T> } {
  const values: T[] = [];
  const all = new ReplaySubject<T>(1);
  const sub = source.subscribe({
    next: (v) => {
      values.push(v);
      all.next(v);
    },
    error: (e: unknown) => {
      all.error(e);
    },
  });
  cleanups.push(() => {
    sub.unsubscribe();
  });
  return {
    values,
    until: (predicate, what, context = () => '', limitMs = 15_000) =>
      firstValueFrom(
        all.pipe(
          filter(predicate),
          timeout({ first: limitMs, with: () => throwError(() => new Error(`timed out waiting for ${what}\n${context()}`)) }),
        ),
      ),
  };
}
