/**
 * The views of each service and filter that subscribers were recently sent, so a subscriber that
 * comes back with the revision and checksum of the view it holds (a network blip, a reconnect to
 * this server) gets the delta from that view instead of a full snapshot. Bounded: at most
 * `perKey` views per (service, filter), kept at most `retentionMs`, and at most `maxKeys` keys
 * (the least recently used go first). Views are immutable and share their records, so keeping one
 * costs its host array, not its instances.
 */
import type { Clock } from '../core/clock.js';
import type { ServiceView } from '../core/model.js';
import { filterKey } from '../core/service-view.js';

export interface ViewHistoryOptions {
  readonly perKey: number;
  readonly retentionMs: number;
  readonly maxKeys: number;
}

export const DEFAULT_VIEW_HISTORY: ViewHistoryOptions = { perKey: 16, retentionMs: 180_000, maxKeys: 10_000 };

interface Kept {
  readonly view: ServiceView;
  readonly at: number;
}

function keyOf(view: Pick<ServiceView, 'namespace' | 'group' | 'name' | 'clusters' | 'healthyOnly'>): string {
  return `${view.namespace}\u0000${view.group}\u0000${view.name}\u0000${filterKey(view)}`;
}

export class ViewHistory {
  private readonly keys = new Map<string, Kept[]>();

  constructor(
    private readonly clock: Clock,
    private readonly options: ViewHistoryOptions = DEFAULT_VIEW_HISTORY,
  ) {}

  /** Remembers a view a subscriber was sent. Cheap when it is the newest one already kept. */
  remember(view: ServiceView): void {
    const key = keyOf(view);
    let kept = this.keys.get(key);
    if (kept !== undefined && kept[kept.length - 1]?.view === view) return;
    const now = this.clock.nowMs();
    if (kept === undefined) {
      kept = [];
      if (this.keys.size >= this.options.maxKeys) {
        const oldest = this.keys.keys().next();
        if (oldest.done !== true) this.keys.delete(oldest.value);
      }
    } else {
      this.keys.delete(key); // re-inserted below: the map's order is least recently used first
    }
    kept.push({ view, at: now });
    let drop = Math.max(0, kept.length - this.options.perKey);
    while (drop < kept.length && now - (kept[drop] as Kept).at > this.options.retentionMs) drop++;
    if (drop > 0) kept.splice(0, drop);
    this.keys.set(key, kept);
  }

  /**
   * The kept view of `like`'s service and filter with this revision and checksum, if any (and not
   * older than the retention).
   */
  find(like: Pick<ServiceView, 'namespace' | 'group' | 'name' | 'clusters' | 'healthyOnly'>, revision: number, checksum: string): ServiceView | undefined {
    const kept = this.keys.get(keyOf(like));
    if (kept === undefined) return undefined;
    const now = this.clock.nowMs();
    for (let i = kept.length - 1; i >= 0; i--) {
      const k = kept[i] as Kept;
      if (now - k.at > this.options.retentionMs) break;
      if (k.view.revision === revision && k.view.checksum === checksum) return k.view;
    }
    return undefined;
  }

  /** Keys and views kept. */
  stats(): { keys: number; views: number } {
    let views = 0;
    for (const k of this.keys.values()) views += k.length;
    return { keys: this.keys.size, views };
  }
}
