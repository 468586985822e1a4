/**
 * The child side of the IPC protocol: answers the parent's commands with the given handlers (plus
 * the built-in `usage` and `exit`), announces readiness, and exits when the parent goes away, so a
 * crashed benchmark never leaves a server or load process behind.
 */
import { isRequest, type BuiltinCommands, type Commands, type ResponseMessage } from './ipc-protocol.js';
import { sampleUsage } from './process-usage.js';

export type Handlers<C extends Commands<C>> = {
  readonly [K in keyof C]: (arg: C[K]['arg']) => C[K]['result'] | Promise<C[K]['result']>;
};

type AnyHandler = (arg: unknown) => unknown;

export interface CommandLoopOptions {
  /** Runs on `exit` before the process ends (close servers, flush files). */
  readonly beforeExit?: () => Promise<void> | void;
}

function errorText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

export function serveCommands<C extends Commands<C>>(handlers: Handlers<C>, options: CommandLoopOptions = {}): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('this is a benchmark child process; start it through its benchmark');
  const reply = (message: ResponseMessage): void => {
    if (process.connected) send(message);
  };
  const table = new Map<string, AnyHandler>(Object.entries(handlers as Readonly<Record<string, AnyHandler>>));
  const usage: () => BuiltinCommands['usage']['result'] = sampleUsage;
  let exiting = false;

  process.on('message', (message: unknown) => {
    if (!isRequest(message)) return;
    const { id, command } = message;
    if (command === 'exit') {
      if (exiting) return;
      exiting = true;
      reply({ kind: 'response', id, ok: true, result: undefined });
      void Promise.resolve(options.beforeExit?.())
        .catch((e: unknown) => {
          console.error(`cleanup failed: ${errorText(e)}`);
        })
        .finally(() => {
          process.exit(0);
        });
      return;
    }
    const handler: AnyHandler | undefined = command === 'usage' ? usage : table.get(command);
    if (handler === undefined) {
      reply({ kind: 'response', id, ok: false, error: `unknown command ${command}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.arg))
      .then(
        (result) => {
          reply({ kind: 'response', id, ok: true, result });
        },
        (e: unknown) => {
          reply({ kind: 'response', id, ok: false, error: errorText(e) });
        },
      );
  });
  // The parent died or closed the channel: nothing will ever ask this process anything again.
  process.on('disconnect', () => {
    process.exit(0);
  });
  send({ kind: 'ready' });
}
