/**
 * The request/response protocol between a benchmark and its child processes over Node's IPC
 * channel (structured-clone serialization, so typed arrays travel as they are).
 *
 * A child declares its commands as a map `{ name: { arg; result } }`; both ends import that map,
 * which is the one place where an IPC payload's type is asserted rather than checked.
 */
import type { ProcessUsage } from './process-usage.js';

export interface CommandSpec {
  readonly arg: unknown;
  readonly result: unknown;
}

/** A command map: every key is a command. */
export type Commands<C> = { readonly [K in keyof C]: CommandSpec };

/** Commands every child answers. `exit` replies, runs the child's cleanup, then exits with 0. */
export interface BuiltinCommands {
  usage: { arg: undefined; result: ProcessUsage };
  exit: { arg: undefined; result: undefined };
}

export interface RequestMessage {
  readonly kind: 'request';
  readonly id: number;
  readonly command: string;
  readonly arg: unknown;
}

export type ResponseMessage =
  | { readonly kind: 'response'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'response'; readonly id: number; readonly ok: false; readonly error: string };

export interface ReadyMessage {
  readonly kind: 'ready';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isRequest(value: unknown): value is RequestMessage {
  return isRecord(value) && value.kind === 'request' && typeof value.id === 'number' && typeof value.command === 'string';
}

export function isResponse(value: unknown): value is ResponseMessage {
  return isRecord(value) && value.kind === 'response' && typeof value.id === 'number' && typeof value.ok === 'boolean';
}

export function isReady(value: unknown): value is ReadyMessage {
  return isRecord(value) && value.kind === 'ready';
}
