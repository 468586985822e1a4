/**
 * The serviceInfoMap: the client's copy of each service it uses, keyed `group@@service@@clusters`.
 * Every snapshot, pushed or pulled, goes through `apply`, which enforces:
 *
 * - ordering: from the same server, a snapshot with a lower revision than the one held is older
 *   and ignored (a pull that was in flight while a push arrived never wins); the first snapshot
 *   from another server (after a fail-over) is taken, since revisions are per server;
 * - empty-push protection: an empty host list does not replace a non-empty one (Nacos's
 *   pushEmptyProtection), so a server-side mishap cannot take every instance away;
 * - change events with the host diff, only when hosts or protection (the threshold, or whether it
 *   was reached) actually changed.
 */
import { Subject } from 'rxjs';
import type { Logger } from '../common/logger.js';
import { diffHosts, isEmptyDiff } from './diff.js';
import type { HostDiff, ServiceSnapshot } from './model.js';

/** Where a snapshot came from. */
export type SnapshotSource = 'push' | 'pull' | 'disk';

export interface CacheEntry {
  readonly snapshot: ServiceSnapshot;
  readonly source: SnapshotSource;
  /** The server address it came from; undefined for disk copies. */
  readonly server: string | undefined;
  /** Client time (scheduler.now()) when it was stored or confirmed. */
  readonly updatedAt: number;
}

/** A change of a key's hosts, with what changed. */
export interface ServiceChangeEvent {
  readonly key: string;
  readonly snapshot: ServiceSnapshot;
  readonly diff: HostDiff;
  readonly source: SnapshotSource;
  /** True for the first snapshot a watcher receives (the current state, not a change). */
  readonly initial: boolean;
}

/** What `apply` did. */
export type ApplyOutcome = 'applied' | 'unchanged' | 'older' | 'empty-protected';

export interface ServiceCacheOptions {
  readonly emptyPushProtection: boolean;
  readonly now: () => number;
  readonly logger: Logger;
  /** Called after a snapshot is stored with changed hosts (the disk copy is written from here). */
  readonly onStored?: (key: string, snapshot: ServiceSnapshot) => void;
}

export class ServiceCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly changesSubject = new Subject<ServiceChangeEvent>();
  /** Every stored change of any key. Hot; completes on close(). */
  readonly changes$ = this.changesSubject.asObservable();

  constructor(private readonly options: ServiceCacheOptions) {}

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Seeds a key from disk (load-at-start); a server snapshot replaces it whatever its revision. */
  seed(key: string, snapshot: ServiceSnapshot): void {
    if (!this.entries.has(key)) this.entries.set(key, { snapshot, source: 'disk', server: undefined, updatedAt: this.options.now() });
  }

  /** Takes a snapshot from a server, by the rules above. */
  apply(key: string, snapshot: ServiceSnapshot, source: 'push' | 'pull', server: string): ApplyOutcome {
    const current = this.entries.get(key);
    const now = this.options.now();
    const sameServer = current !== undefined && current.source !== 'disk' && current.server === server;
    if (sameServer && snapshot.revision < current.snapshot.revision) return 'older';
    if (sameServer && snapshot.revision === current.snapshot.revision) {
      this.entries.set(key, { ...current, updatedAt: now });
      return 'unchanged';
    }
    if (this.options.emptyPushProtection && snapshot.hosts.length === 0 && current !== undefined && current.snapshot.hosts.length > 0) {
      this.options.logger.warn({ key, revision: snapshot.revision, source }, 'empty host list ignored (empty-push protection)');
      return 'empty-protected';
    }
    this.entries.set(key, { snapshot, source, server, updatedAt: now });
    const diff = diffHosts(current?.snapshot.hosts ?? [], snapshot.hosts);
    const protectionChanged =
      current !== undefined && (current.snapshot.reachProtectionThreshold !== snapshot.reachProtectionThreshold || current.snapshot.protectThreshold !== snapshot.protectThreshold);
    if (current === undefined || current.source === 'disk' || !isEmptyDiff(diff) || protectionChanged) {
      this.options.onStored?.(key, snapshot);
      this.changesSubject.next({ key, snapshot, diff, source, initial: false });
      return 'applied';
    }
    return 'unchanged';
  }

  /** Forgets a key (unsubscribe). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  close(): void {
    this.changesSubject.complete();
  }
}
