/**
 * Times of named events in a child process (a call reaching a server, an instance appearing in or
 * leaving a ServiceInfo), and waiters for them: `when` resolves with the event's time as soon as
 * it happens, at once if it already has, or with NaN after the timeout.
 */
export class EventTimes {
  private readonly times = new Map<string, number>();
  private readonly waiters = new Map<string, ((atMs: number) => void)[]>();

  /** Records `key` at `atMs` unless it already happened; wakes its waiters. */
  mark(key: string, atMs: number): void {
    if (this.times.has(key)) return;
    this.times.set(key, atMs);
    const waiting = this.waiters.get(key);
    this.waiters.delete(key);
    for (const w of waiting ?? []) w(atMs);
  }

  has(key: string): boolean {
    return this.times.has(key);
  }

  when(key: string, timeoutMs: number): Promise<number> {
    const at = this.times.get(key);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(key) ?? [];
        this.waiters.set(
          key,
          list.filter((w) => w !== wake),
        );
        resolve(Number.NaN);
      }, timeoutMs);
      const wake = (atMs: number): void => {
        clearTimeout(timer);
        resolve(atMs);
      };
      const list = this.waiters.get(key) ?? [];
      list.push(wake);
      this.waiters.set(key, list);
    });
  }
}
