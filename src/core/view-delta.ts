/**
 * The difference between two views of one service: the hosts a subscriber holding `from` must add
 * or replace, and the ids it must drop, to hold `to`. Both host lists are sorted by instance id
 * (every view's are), so one merge walk finds it. Records are immutable, so a host whose record is
 * the same object is unchanged; a different object is sent even when its content happens to match.
 */
import type { InstanceRecord, ServiceView } from './model.js';

export interface ViewDelta {
  /** Hosts of `to` that are new or changed, sorted by instance id. */
  readonly upserted: readonly InstanceRecord[];
  /** Ids of `from`'s hosts that `to` lacks, sorted. */
  readonly removed: readonly string[];
}

export function viewDelta(from: Pick<ServiceView, 'hosts'>, to: Pick<ServiceView, 'hosts'>): ViewDelta {
  const a = from.hosts;
  const b = to.hosts;
  const upserted: InstanceRecord[] = [];
  const removed: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.instanceId < y.instanceId)) {
      removed.push((x as InstanceRecord).instanceId);
      i++;
    } else if (x === undefined || y.instanceId < x.instanceId) {
      upserted.push(y);
      j++;
    } else {
      if (x !== y) upserted.push(y);
      i++;
      j++;
    }
  }
  return { upserted, removed };
}
