/**
 * A push target that forwards only what its subscriber has not seen: never an older revision, and
 * not a newer revision whose hosts (checksum), protection flag and threshold are unchanged (e.g. a
 * change in a cluster outside its filter). The first view is always forwarded.
 */
import type { ServiceFilter, ServiceView } from '../core/model.js';
import type { PushTarget } from './push-hub.js';

export class SnapshotTarget implements PushTarget {
  private last: ServiceView | undefined;

  constructor(
    readonly filter: ServiceFilter,
    private readonly send: (view: ServiceView) => void,
  ) {}

  deliver(view: ServiceView): void {
    const last = this.last;
    if (last !== undefined) {
      if (view.revision <= last.revision) return;
      if (
        view.checksum === last.checksum &&
        view.reachProtectionThreshold === last.reachProtectionThreshold &&
        view.protectThreshold === last.protectThreshold
      ) {
        this.last = view;
        return;
      }
    }
    this.last = view;
    this.send(view);
  }
}
