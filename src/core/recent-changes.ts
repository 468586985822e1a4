/**
 * The recently-changed queue behind delta fetches: changes in time order, each dropped once older
 * than the retention window (default 3 minutes). Every registration spends the window here, so an
 * entry is kept compact: the record and the service by reference (shared, never copied), the
 * action, time and revision in typed arrays; 33 bytes instead of an object with two boxed numbers
 * (~120). Entries live in chunks that grow from 64 to 4,096 entries, so a quiet namespace holds
 * little and aged-out entries are released a chunk at a time. InstanceChange objects are made only
 * when read.
 */
import type { ActionType, InstanceChange, InstanceRecord } from './model.js';

/** The service a change belongs to, by its names (a ServiceState is one). */
export interface ChangedService {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
}

const ACTIONS: readonly ActionType[] = ['ADDED', 'MODIFIED', 'DELETED'];
const ACTION_CODES: Readonly<Record<ActionType, number>> = { ADDED: 0, MODIFIED: 1, DELETED: 2 };
const FIRST_CHUNK = 64;
const MAX_CHUNK = 4096;

class Chunk {
  /** Sized once (no growth, no slack); an aged-out entry's record is let go at once. */
  readonly records: (InstanceRecord | undefined)[];
  readonly services: (ChangedService | undefined)[];
  readonly actions: Uint8Array;
  readonly changedAt: Float64Array;
  readonly revisions: Float64Array;
  /** Entries written; entries before `start` have aged out. */
  length = 0;
  start = 0;

  constructor(readonly capacity: number) {
    this.records = new Array<InstanceRecord | undefined>(capacity).fill(undefined);
    this.services = new Array<ChangedService | undefined>(capacity).fill(undefined);
    this.actions = new Uint8Array(capacity);
    this.changedAt = new Float64Array(capacity);
    this.revisions = new Float64Array(capacity);
  }

  change(i: number): InstanceChange {
    const svc = this.services[i] as ChangedService;
    return {
      action: ACTIONS[this.actions[i] ?? 0] ?? 'MODIFIED',
      namespace: svc.namespace,
      group: svc.group,
      service: svc.name,
      record: this.records[i] as InstanceRecord,
      changedAt: this.changedAt[i] ?? 0,
      revision: this.revisions[i] ?? 0,
    };
  }
}

export class RecentChanges {
  private chunks: Chunk[] = [];
  private count = 0;

  constructor(private readonly retentionMs: number) {}

  /** Appends a change (callers append in time order) and drops what has aged out. */
  add(service: ChangedService, action: ActionType, record: InstanceRecord, changedAt: number, revision: number): void {
    let last = this.chunks[this.chunks.length - 1];
    if (last === undefined || last.length === last.capacity) {
      last = new Chunk(last === undefined ? FIRST_CHUNK : Math.min(MAX_CHUNK, last.capacity * 2));
      this.chunks.push(last);
    }
    const i = last.length++;
    last.records[i] = record;
    last.services[i] = service;
    last.actions[i] = ACTION_CODES[action];
    last.changedAt[i] = changedAt;
    last.revisions[i] = revision;
    this.count++;
    this.prune(changedAt);
  }

  /** Changes within the retention window ending at `nowMs`, oldest first. */
  since(nowMs: number): InstanceChange[] {
    this.prune(nowMs);
    const out: InstanceChange[] = [];
    for (const c of this.chunks) for (let i = c.start; i < c.length; i++) out.push(c.change(i));
    return out;
  }

  get size(): number {
    return this.count;
  }

  private prune(nowMs: number): void {
    const oldest = nowMs - this.retentionMs;
    for (;;) {
      const first = this.chunks[0];
      if (first === undefined) return;
      while (first.start < first.length && (first.changedAt[first.start] ?? 0) < oldest) {
        // Let go of the record at once: the chunk may stay a while for its younger entries.
        first.records[first.start] = undefined;
        first.start++;
        this.count--;
      }
      if (first.start < first.capacity) return;
      this.chunks.shift();
    }
  }
}
