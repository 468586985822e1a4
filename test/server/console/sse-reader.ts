/** Reads a console event stream over real HTTP: events as they come, parsed, with a wait for the next one that matches. */
import type { ConsoleEvents } from '../../../src/console/protocol.js';

export type ConsoleEvent = { [K in keyof ConsoleEvents]: { name: K; data: ConsoleEvents[K] } }[keyof ConsoleEvents];

export interface EventReader {
  readonly status: number;
  readonly events: ConsoleEvent[];
  /** Resolves with the first event (seen or to come) after index `from` that matches. */
  next<E extends ConsoleEvent>(match: (e: ConsoleEvent) => e is E, what: string, from?: number): Promise<E>;
  close(): void;
}

export async function readConsoleEvents(url: string, headers: Record<string, string> = {}): Promise<EventReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: ConsoleEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  if (res.ok && res.body !== null) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const name = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (name !== undefined && data !== undefined) events.push({ name, data: JSON.parse(data) as unknown } as ConsoleEvent);
            end = buffer.indexOf('\n\n');
          }
          for (const w of [...waiters]) w();
        }
      } catch {
        // aborted
      } finally {
        ended = true;
        for (const w of [...waiters]) w();
      }
    })();
  }
  return {
    status: res.status,
    events,
    next: (match, what, from = 0) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.slice(from).find(match);
          if (found !== undefined) {
            waiters.delete(check);
            resolve(found);
          } else if (ended) {
            waiters.delete(check);
            reject(new Error(`the stream ended before ${what}; events: ${events.map((e) => e.name).join(', ')}`));
          }
        };
        waiters.add(check);
        check();
      }),
    close: () => {
      abort.abort();
    },
  };
}

export const isEvent =
  <K extends ConsoleEvent['name']>(name: K, test: (data: ConsoleEvents[K]) => boolean = () => true) =>
  (e: ConsoleEvent): e is Extract<ConsoleEvent, { name: K }> =>
    e.name === name && test(e.data as ConsoleEvents[K]);
