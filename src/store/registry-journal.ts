/**
 * Between the registry and the store: restores what the store holds into a fresh registry at start,
 * then turns the registry's writes into store writes. The core decides, this only records: a
 * persistent instance's record at each new write version (client writes and peers' alike, so
 * every node's store follows what it holds), its removal with the tombstone of the cancel, and
 * service settings. Ephemeral instances are never written. Health shown by probes and heartbeat
 * timeouts is each node's own observation and is not stored (probes re-establish it after a start).
 */
import { RegistryError } from '../core/errors.js';
import type { InstanceRef } from '../core/model.js';
import type { Registry, ServiceSettings, WriteEvent } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import { cancelOp, forgetOp, instanceOp, serviceOp, type StoredState, type StoreOp } from './store-ops.js';

/** Where the journal writes (the store; tests pass a fake). */
export interface StoreSink {
  write(ops: readonly StoreOp[]): void;
}

/** What a restore put back. */
export interface RestoreReport {
  readonly instances: number;
  readonly tombstones: number;
  readonly services: number;
  /** Items the registry refused (logged; e.g. a name longer than a limit lowered since). */
  readonly skipped: number;
}

type JournalRegistry = Pick<Registry, 'onWrite' | 'onSettingsChanged' | 'applyReplica' | 'applyTombstone' | 'updateService'>;

const keyOf = (r: InstanceRef): string => `${r.namespace}\u0000${r.group}\u0000${r.service}\u0000${r.instanceId}`;

export class RegistryJournal {
  /** The persistent instances in the store, with the write version stored. */
  private readonly stored = new Map<string, number>();

  constructor(
    private readonly sink: StoreSink,
    private readonly logger: Logger,
  ) {}

  /**
   * Puts the store's contents into the registry (before the node syncs from peers or serves):
   * cancels first, then instances at their write versions, then service settings; all merged by
   * the replica rules, so the version clock moves past every stored version.
   */
  restore(registry: JournalRegistry, state: StoredState, nowMs: number): RestoreReport {
    let instances = 0;
    let tombstones = 0;
    let services = 0;
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
        registry.updateService(s);
        services++;
      } catch (e) {
        skip(`service ${s.group}@@${s.service}`, e);
      }
    }
    return { instances, tombstones, services, skipped };
  }

  /** Starts recording the registry's writes; returns the function that stops it. */
  attach(registry: JournalRegistry): () => void {
    const offWrites = registry.onWrite((e) => {
      const ops = this.opsOf(e);
      if (ops !== undefined) this.sink.write(ops);
    });
    const offSettings = registry.onSettingsChanged((s: ServiceSettings) => {
      this.sink.write([serviceOp(s)]);
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

  private opsOf(e: WriteEvent): StoreOp[] | undefined {
    const key = keyOf(e.ref);
    switch (e.kind) {
      case 'renew':
        return undefined; // a lease (ephemeral) or nothing durable
      case 'cancel':
        if (!this.stored.delete(key)) return undefined; // an ephemeral instance
        return [cancelOp(e.tombstone)];
      case 'register':
      case 'status':
      case 'delete-override': {
        const record = e.record;
        if (record.ephemeral) {
          if (!this.stored.delete(key)) return undefined;
          return [forgetOp(e.ref)]; // registered again as ephemeral
        }
        // A no-op write (an idempotent re-registration) keeps the version: nothing new to store.
        if (this.stored.get(key) === record.version) return undefined;
        this.stored.set(key, record.version);
        return [instanceOp(e.ref, record)];
      }
    }
  }
}
