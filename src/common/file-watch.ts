/**
 * Watches files an operator edits or replaces while the server runs (the auth file, TLS
 * certificates): polls their status (size, mtime, inode) every interval, which also catches a
 * file replaced by a rename, as editors and certificate tools do; on a change it calls back once.
 * Owned by whoever starts it; `close()` stops it. Timers are unref'd.
 */
import { stat } from 'node:fs/promises';
import type { Timers } from './timers.js';

export interface FileWatchDeps {
  readonly paths: readonly string[];
  readonly intervalMs: number;
  readonly timers: Timers;
  /** Called after one or more of the files changed (not for the first look). */
  readonly onChange: () => void;
}

async function signature(paths: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const p of paths) {
    try {
      const s = await stat(p);
      parts.push(`${p}:${s.size}:${s.mtimeMs}:${s.ino}`);
    } catch {
      parts.push(`${p}:missing`);
    }
  }
  return parts.join('|');
}

export class FileWatch {
  private timer: unknown;
  private last: string | undefined;
  private closed = false;

  constructor(private readonly deps: FileWatchDeps) {}

  /** Takes the files' current state as the baseline and starts watching. */
  async start(): Promise<void> {
    this.last = await signature(this.deps.paths);
    this.schedule();
  }

  /** Checks now (tests, and a SIGHUP-style reload). Resolves after the callback, if any. */
  async check(): Promise<void> {
    const now = await signature(this.deps.paths);
    if (this.closed || now === this.last) return;
    this.last = now;
    this.deps.onChange();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.deps.timers.setTimeout(() => {
      void this.check().finally(() => {
        this.schedule();
      });
    }, this.deps.intervalMs);
  }
}
