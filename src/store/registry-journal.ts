/**
 * Between the registry and the store: restores what the store holds into a fresh registry at start,
 * then turns the registry's writes into store writes. The core decides, this only records: a
 * persistent instance's record at each new write version (client writes and peers' alike, so
 * every node's store follows what it holds), its removal with the tombstone of the cancel (also a
 * peer's cancel of one this node never held), service settings at their write versions, and the
 * status overrides of ephemeral instances. Ephemeral instances themselves are never written. Health
 * shown by probes and heartbeat timeouts is each node's own observation and is not stored (probes
 * re-establish it after a start).
 *
 * An override of an ephemeral instance is stored with an expiry (`overrideRetentionMs` after it was
 * set, or after its instance last registered or renewed: a renewal refreshes the stored expiry once
 * half of it has passed), so the table only holds overrides of instances seen recently.
 */
import { RegistryError } from '../core/errors.js';
import type { InstanceRecord, InstanceRef } from '../core/model.js';
import type { Registry, SettingsChange, WriteEvent } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import { cancelOp, forgetOp, instanceOp, overrideOp, serviceOp, unoverrideOp, type StoredState, type StoreOp } from './store-ops.js';

/** Where the journal writes (the store; tests pass a fake). */
export interface StoreSink {
  write(ops: readonly StoreOp[]): void;
}

/** What a restore put back. */
export interface RestoreReport {
  readonly instances: number;
  readonly tombstones: number;
  readonly services: number;
  /** Overrides of ephemeral instances waiting for their instance to register again. */
  readonly overrides: number;
  /** Items the registry refused (logged; e.g. a name longer than a limit lowered since). */
  readonly skipped: number;
}

type JournalRegistry = Pick<Registry, 'onWrite' | 'onSettingsChanged' | 'applyReplica' | 'applyTombstone' | 'applyServiceSettings' | 'restoreOverride'>;

export interface JournalOptions {
  /** How long an override of an ephemeral instance is kept after it was last set, registered or renewed. */
  readonly overrideRetentionMs: number;
  /** The time now (ms since epoch). */
  readonly nowMs: () => number;
}

/** An override as stored: its status and version, and when its stored expiry was written. */
interface OverrideMark {
  readonly status: InstanceRecord['status'];
  readonly version: number;
  readonly writtenAt: number;
}

const keyOf = (r: InstanceRef): string => `${r.namespace}\u0000${r.group}\u0000${r.service}\u0000${r.instanceId}`;

export class RegistryJournal {
  /** The persistent instances in the store, with the write version stored. */
  private readonly stored = new Map<string, number>();
  /** The overrides of ephemeral instances in the store. */
  private readonly overrides = new Map<string, OverrideMark>();

  constructor(
    private readonly sink: StoreSink,
    private readonly logger: Logger,
    private readonly options: JournalOptions,
  ) {}

  /**
   * Puts the store's contents into the registry (before the node syncs from peers or serves):
   * cancels first, then instances at their write versions, then service settings at theirs; all
   * merged by the replica rules, so the version clock moves past every stored version. Overrides of
   * ephemeral instances wait in the registry for their instance to register again.
   */
  restore(registry: JournalRegistry, state: StoredState, nowMs: number): RestoreReport {
    let instances = 0;
    let tombstones = 0;
    let services = 0;
    let overrides = 0;
    let skipped = 0;
    const skip = (what: string, e: unknown): void => {
      if (!(e instanceof RegistryError)) throw e;
      skipped++;
      this.logger.warn({ item: what, error: e.message }, 'store: skipping an item the registry refuses');
    };
    for (const t of state.tombstones) {
      try {
        registry.applyTombstone(t);
        tombstones++;
      } catch (e) {
        skip(`tombstone ${t.instanceId}`, e);
      }
    }
    for (const i of state.instances) {
      const ref = { namespace: i.namespace, group: i.group, service: i.service, instanceId: i.record.instanceId };
      try {
        const r = registry.applyReplica(ref, i.record, nowMs);
        if (r.kind === 'adopted' || r.kind === 'same') {
          this.stored.set(keyOf(ref), i.record.version);
          instances++;
        }
      } catch (e) {
        skip(`instance ${i.record.instanceId}`, e);
      }
    }
    for (const s of state.services) {
      try {
        registry.applyServiceSettings(s);
        services++;
      } catch (e) {
        skip(`service ${s.group}@@${s.service}`, e);
      }
    }
    for (const o of state.overrides) {
      registry.restoreOverride(o);
      this.overrides.set(keyOf(o), { status: o.status, version: o.version, writtenAt: o.expiresAt - this.options.overrideRetentionMs });
      overrides++;
    }
    return { instances, tombstones, services, overrides, skipped };
  }

  /** Starts recording the registry's writes; returns the function that stops it. */
  attach(registry: JournalRegistry): () => void {
    const offWrites = registry.onWrite((e) => {
      const ops = this.opsOf(e);
      if (ops !== undefined) this.sink.write(ops);
    });
    const offSettings = registry.onSettingsChanged((s: SettingsChange) => {
      this.sink.write([serviceOp({ namespace: s.namespace, group: s.group, service: s.service, protectThreshold: s.protectThreshold, metadata: s.metadata, version: s.version })]);
    });
    return () => {
      offWrites();
      offSettings();
    };
  }

  /** How many persistent instances the store holds. */
  get size(): number {
    return this.stored.size;
  }

  /** How many overrides of ephemeral instances the store holds. */
  get overrideCount(): number {
    return this.overrides.size;
  }

  private opsOf(e: WriteEvent): StoreOp[] | undefined {
    switch (e.kind) {
      case 'renew':
        // A lease, nothing durable; but an override's stored expiry follows its instance's renewals.
        if (!e.record.ephemeral || e.record.overriddenStatus === undefined) return undefined;
        return this.overrideOps(keyOf(e.ref), e.ref, e.record);
      case 'cancel': {
        const key = keyOf(e.ref);
        // An explicit cancel (a deregistration, here or on a peer) ends an override, as in Eureka.
        const ops = this.overrides.delete(key) ? [unoverrideOp(e.ref)] : [];
        if (this.stored.delete(key) || e.tombstone.persistent) ops.push(cancelOp(e.tombstone));
        return ops.length === 0 ? undefined : ops;
      }
      case 'register':
      case 'status':
      case 'delete-override': {
        const key = keyOf(e.ref);
        const record = e.record;
        if (record.ephemeral) {
          const ops = this.overrideOps(key, e.ref, record) ?? [];
          if (this.stored.delete(key)) ops.push(forgetOp(e.ref)); // registered again as ephemeral
          return ops.length === 0 ? undefined : ops;
        }
        const ops = this.overrides.delete(key) ? [unoverrideOp(e.ref)] : [];
        // A no-op write (an idempotent re-registration) keeps the version: nothing new to store.
        if (this.stored.get(key) !== record.version) {
          this.stored.set(key, record.version);
          ops.push(instanceOp(e.ref, record));
        }
        return ops.length === 0 ? undefined : ops;
      }
    }
  }

  /** What keeps the store's copy of an ephemeral instance's override in line with its record. */
  private overrideOps(key: string, ref: InstanceRef, record: InstanceRecord): StoreOp[] | undefined {
    const held = this.overrides.get(key);
    const status = record.overriddenStatus;
    if (status === undefined) {
      if (held === undefined) return undefined;
      this.overrides.delete(key);
      return [unoverrideOp(ref)];
    }
    const now = this.options.nowMs();
    const retention = this.options.overrideRetentionMs;
    if (held !== undefined && held.status === status && now - held.writtenAt < retention / 2) return undefined;
    this.overrides.set(key, { status, version: record.version, writtenAt: now });
    return [overrideOp({ ...ref, status, version: record.version, expiresAt: now + retention })];
  }
}
