/**
 * One namespace: its services, its recently-changed queue, and the revision floor reported for
 * services it no longer tracks.
 */
import { RecentChanges } from './recent-changes.js';
import { reconcileHash } from './checksum.js';
import type { ServiceState } from './service-state.js';

export class NamespaceState {
  /** Keyed by `group@@service`. */
  readonly services = new Map<string, ServiceState>();
  readonly changes: RecentChanges;
  /**
   * The highest revision of any service forgotten after it emptied. An untracked service reports
   * this revision, so a client holding an older copy of a forgotten service accepts the empty list.
   */
  removedRevisionFloor = 0;
  /** Bumped on every change in the namespace; keys the reconcile-hash memo. */
  version = 0;
  private hashMemo: { version: number; hash: string } | undefined;

  constructor(
    readonly name: string,
    deltaRetentionMs: number,
  ) {
    this.changes = new RecentChanges(deltaRetentionMs);
  }

  /** Reconcile hash over the non-empty services' unfiltered checksums, memoised per version. */
  reconcileHash(checksumOf: (s: ServiceState) => string): string {
    if (this.hashMemo?.version !== this.version) {
      const entries: [string, string][] = [];
      for (const [key, s] of this.services) if (s.instances.size > 0) entries.push([key, checksumOf(s)]);
      this.hashMemo = { version: this.version, hash: reconcileHash(entries) };
    }
    return this.hashMemo.hash;
  }
}
