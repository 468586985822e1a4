/**
 * One service's mutable state: its instances, revision and settings, plus the snapshot and views
 * derived from them, built lazily and kept until the next revision.
 */
import type { InstanceEntry, InstanceRecord, ServiceFilter, ServiceSnapshot, ServiceView } from './model.js';
import { MetadataShelf } from './interner.js';
import { buildView, filterKey } from './service-view.js';

/** What building a snapshot or view needs from the registry: its defaults and its checksum cache. */
export interface ViewContext {
  readonly defaultProtectThreshold: number;
  readonly cacheMillis: number;
  readonly checksum: (hosts: readonly InstanceRecord[]) => string;
}

/** Distinct filters memoised per revision; beyond it views are built but not kept (bounded memory). */
const MAX_MEMOISED_VIEWS = 64;

export class ServiceState {
  readonly instances = new Map<string, InstanceEntry>();
  revision = 0;
  lastRefTime = 0;
  /** Set with UpdateService; undefined = the server default. */
  protectThreshold: number | undefined;
  metadata: Readonly<Record<string, string>> = {};
  /** Created or configured explicitly (UpdateService): kept even when empty. */
  explicit = false;
  /** The write version of protectThreshold and metadata (0 = none yet). */
  settingsVersion = 0;
  /** When the service last became empty; undefined while it has instances. */
  emptySince: number | undefined;
  /** Metadata maps recently registered here, for later registrations to share. */
  readonly metadataShelf = new MetadataShelf();

  private snapshot: ServiceSnapshot | undefined;
  private readonly views = new Map<string, ServiceView>();
  private readonly memos = new Map<string, unknown>();

  constructor(
    readonly namespace: string,
    readonly group: string,
    readonly name: string,
  ) {}

  /** Records a new revision; drops derived snapshot and views. */
  touch(revision: number, nowMs: number): void {
    this.revision = revision;
    this.lastRefTime = nowMs;
    this.snapshot = undefined;
    // Map#clear allocates a new table even for an empty map: only clear what holds something.
    if (this.views.size > 0) this.views.clear();
    if (this.memos.size > 0) this.memos.clear();
    this.emptySince = this.instances.size === 0 ? (this.emptySince ?? nowMs) : undefined;
  }

  /** The whole service at its current revision, hosts sorted by instance id. */
  getSnapshot(ctx: ViewContext): ServiceSnapshot {
    if (this.snapshot === undefined) {
      const hosts: InstanceRecord[] = [];
      for (const e of this.instances.values()) hosts.push(e.record);
      hosts.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
      this.snapshot = Object.freeze({
        namespace: this.namespace,
        group: this.group,
        name: this.name,
        revision: this.revision,
        lastRefTime: this.lastRefTime,
        protectThreshold: this.protectThreshold ?? ctx.defaultProtectThreshold,
        cacheMillis: ctx.cacheMillis,
        hosts: Object.freeze(hosts),
      });
    }
    return this.snapshot;
  }

  /** A value derived from the current revision, computed once until the next (e.g. the replica digest). */
  memo<T>(key: string, compute: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const value = compute();
    this.memos.set(key, value);
    return value;
  }

  /** The service through a filter, memoised per revision (same object for the same filter). */
  getView(filter: ServiceFilter, ctx: ViewContext): ServiceView {
    const key = filterKey(filter);
    let view = this.views.get(key);
    if (view === undefined) {
      view = Object.freeze(buildView(this.getSnapshot(ctx), filter, ctx.checksum));
      if (this.views.size < MAX_MEMOISED_VIEWS) this.views.set(key, view);
    }
    return view;
  }
}
