/**
 * Starts real servers on 127.0.0.1:0 and clients for them; everything is closed after each test.
 * Tests wait on events, each wait bounded and failing with what it waited for: a stream's values
 * (`record(...).until`), a registry's changes (`untilRegistry`), a server's log (`recordingLogger`);
 * `eventually` polls, as a last resort.
 */
import { afterEach } from 'vitest';
import { Subject, type Observable } from 'rxjs';
import { silentLogger, type LogFields, type Logger } from '../../src/common/logger.js';
import { HeraldServer, type HeraldServerDeps } from '../../src/server/herald-server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import type { ServiceInfo } from '../../src/gen/herald/v1/model.js';
import { removeTempDataDirs } from './data-dir.js';

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  // The test's servers are stopped: their data directories can go.
  removeTempDataDirs();
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

/**
 * How long a wait may last before it fails with what it waited for. It only bounds a hung test
 * (under vitest's 20 s test timeout, so the message is ours); it is never an assertion on how fast
 * something happened.
 */
export const WAIT_LIMIT_MS = 10_000;

/** A short, printable account of some values, for failure messages. */
export function describeValues(values: readonly unknown[], last = 3): string {
  const shown = values.slice(-last).map((v) => {
    let text: string;
    try {
      text = v === undefined || typeof v === 'function' ? String(v) : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    } catch {
      text = String(v);
    }
    return text.length > 600 ? `${text.slice(0, 600)}…` : text;
  });
  return `${values.length} value(s) seen${values.length > last ? `, the last ${last}` : ''}: ${shown.length === 0 ? '(none)' : shown.join('\n  ')}`;
}

/** Races `promise` against the wait limit; on timeout, fails with `what` and `context()`. */
export async function within<T>(promise: Promise<T>, what: string, context: () => string = () => '', limitMs = WAIT_LIMIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const extra = context();
      reject(new Error(`timed out after ${limitMs} ms waiting for ${what}${extra === '' ? '' : `\n${extra}`}`));
    }, limitMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** A recorded observable: everything it emitted, and waits on what it emits. */
export interface Recording<T> {
  /** Every value so far, in order. */
  readonly values: T[];
  /** The error it failed with, if it did. */
  readonly errors: unknown[];
  /**
   * Resolves with the current (latest) value if it matches `predicate`, else with the first later
   * value that does. Fails at once if the source fails or completes first, and after `limitMs`
   * with `what`, the values seen and `context()`. The predicate may look at `values` too (say, a
   * count): it runs after each value is recorded.
   */
  until(predicate: (v: T) => boolean, what: string, context?: () => string, limitMs?: number): Promise<T>;
  /** Resolves with the source's error (at once if it already failed); fails after `limitMs` with `what`. */
  failure(what: string, limitMs?: number): Promise<unknown>;
  /** Unsubscribes (also done after the test). */
  stop(): void;
}

/**
 * Subscribes to `source` for the whole test (e.g. a Subscribe stream, a client's watch$) and records
 * what it emits; see Recording for the waits.
 */
export function record<T>(source: Observable<T>): Recording<T> {
  const values: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const sub = source.subscribe({
    next: (v) => {
      values.push(v);
      wake();
    },
    error: (e: unknown) => {
      errors.push(e);
      wake();
    },
    complete: () => {
      completed = true;
      wake();
    },
  });
  cleanups.push(() => {
    sub.unsubscribe();
  });
  /** Runs `check` now and after each event of the source, until it settles the wait; bounded. */
  const wait = <R>(what: string, context: () => string, limitMs: number, check: (done: (r: R) => void, fail: (why: string) => void) => void): Promise<R> => {
    const seen = (): string => [describeValues(values), context()].filter((x) => x !== '').join('\n');
    let waiter: (() => void) | undefined;
    const outcome = new Promise<R>((resolve, reject) => {
      waiter = () => {
        check(resolve, (why) => {
          reject(new Error(`${why} while waiting for ${what}\n${seen()}`));
        });
      };
      waiters.add(waiter);
      waiter();
    });
    return within(outcome, what, seen, limitMs).finally(() => {
      if (waiter !== undefined) waiters.delete(waiter);
    });
  };
  return {
    values,
    errors,
    until: (predicate, what, context = () => '', limitMs = WAIT_LIMIT_MS) => {
      let next = Math.max(0, values.length - 1); // the current value, then each later one in turn
      return wait<T>(what, context, limitMs, (done, fail) => {
        for (; next < values.length; next++) {
          const v = values[next] as T;
          if (predicate(v)) {
            done(v);
            return;
          }
        }
        if (errors.length > 0) fail(`the source failed (${String(errors[0])})`);
        else if (completed) fail('the source completed');
      });
    },
    failure: (what, limitMs = WAIT_LIMIT_MS) =>
      wait<unknown>(what, () => '', limitMs, (done, fail) => {
        if (errors.length > 0) done(errors[0]);
        else if (completed) fail('the source completed without failing');
      }),
    stop: () => {
      sub.unsubscribe();
    },
  };
}

/** One line a component logged. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

/**
 * A logger (for `startServer(config, { logger })`) whose lines are recorded: what a server logs
 * when nothing else tells (a peer going down, an eviction) can be waited for with `lines.until`.
 */
export function recordingLogger(): { logger: Logger; lines: Recording<LogLine> } {
  const subject = new Subject<LogLine>();
  const make = (base: LogFields): Logger => ({
    debug: (fields, message) => {
      subject.next({ level: 'debug', message, fields: { ...base, ...fields } });
    },
    info: (fields, message) => {
      subject.next({ level: 'info', message, fields: { ...base, ...fields } });
    },
    warn: (fields, message) => {
      subject.next({ level: 'warn', message, fields: { ...base, ...fields } });
    },
    error: (fields, message) => {
      subject.next({ level: 'error', message, fields: { ...base, ...fields } });
    },
    child: (fields) => make({ ...base, ...fields }),
  });
  return { logger: make({}), lines: record(subject) };
}

/** A short account of what each server's registry holds, for failure messages. */
export function describeRegistries(servers: readonly HeraldServer[]): string {
  return servers
    .map((s) => {
      const services = s.registry
        .namespaceNames()
        .flatMap((ns) => s.registry.fetchRegistry(ns).services.map((v) => `${ns}/${v.group}@@${v.name} [${v.hosts.map((h) => `${h.instanceId}${h.healthy ? '' : ' (unhealthy)'}`).join(', ')}]`));
      return `server :${s.port}: ${services.length === 0 ? '(empty)' : services.join('; ')}`;
    })
    .join('\n');
}

/**
 * Resolves once `check` holds, looking now and after every change on the registry of any of
 * `servers` (a change clients see, `onServiceChanged`, and every write, renewals and merged
 * replicas included, `onWrite`). For registry state: a registration or a replication arriving on a
 * node, an eviction, a renewal. Fails after `limitMs` with `what` and what each registry holds.
 * `check` runs outside the registry call that made the change; an error it throws fails the wait
 * (with `what` in the message).
 */
export function untilRegistry(servers: HeraldServer | readonly HeraldServer[], check: () => boolean, what: string, limitMs = WAIT_LIMIT_MS): Promise<void> {
  const list = Array.isArray(servers) ? (servers as readonly HeraldServer[]) : [servers as HeraldServer];
  const stops: (() => void)[] = [];
  const outcome = new Promise<void>((resolve, reject) => {
    let queued = false;
    const look = (): void => {
      queued = false;
      try {
        if (check()) resolve();
      } catch (e) {
        reject(new Error(`the check threw while waiting for ${what}: ${e instanceof Error ? e.message : String(e)}\n${describeRegistries(list)}`, { cause: e }));
      }
    };
    // Listeners run inside the registry's call: look once it has returned.
    const onChange = (): void => {
      if (queued) return;
      queued = true;
      queueMicrotask(look);
    };
    for (const s of list) stops.push(s.registry.onServiceChanged(onChange), s.registry.onWrite(onChange));
    look();
  });
  return within(outcome, what, () => describeRegistries(list), limitMs).finally(() => {
    for (const stop of stops) stop();
  });
}

/**
 * Polls `check` every 5 ms until it returns true, failing after the wait limit with `what`.
 *
 * The last resort: use it only where nothing emits an event when the condition becomes true:
 * another process's state, an HTTP server or library cache the test cannot observe, a counter
 * with no event. Streams have `record(...).until`, registries `untilRegistry`, log lines
 * `recordingLogger`; a handler or fake the test controls announces what it did on a Subject the
 * test records; a wait for time to pass is a ManualClock advanced by the test, never a poll.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > WAIT_LIMIT_MS) throw new Error(`timed out after ${WAIT_LIMIT_MS} ms waiting for ${what}`);
    await new Promise((r) => {
      setTimeout(r, 5);
    });
  }
}

export function hostIds(info: ServiceInfo): string[] {
  return info.hosts.map((h) => h.instanceId);
}
