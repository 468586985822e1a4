/**
 * A benchmark must stop by itself: this ends the run (and its children) after a hard time limit,
 * and on Ctrl-C, instead of leaving servers and load processes behind.
 */
import { killAllChildren } from './child-handle.js';

export function armWatchdog(limitMs: number): void {
  const timer = setTimeout(() => {
    console.error(`benchmark exceeded its ${Math.round(limitMs / 1000)} s limit; stopping`);
    killAllChildren();
    process.exit(2);
  }, limitMs);
  timer.unref();
  const onSignal = (): void => {
    killAllChildren();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
