/**
 * Follows one service through a delta stream (Subscribe with deltas, or one watch of Watch): holds
 * the service as the last message left it and applies each new one. A snapshot replaces what is
 * held; a delta must start from the revision held (else a message was missed: `DeltaGap`), drops
 * the removed ids, replaces or adds the upserted instances, keeps the hosts in instance-id order,
 * and must give the checksum the server computed (else `ChecksumMismatch`). Either error means:
 * subscribe again without resuming. This is the rule docs/protocol.md gives to every client.
 */
import type { Instance, ServiceDelta, ServiceInfo } from '../gen/herald/v1/model.js';
import { ChecksumCache, type ChecksumHost } from '../core/checksum.js';
import { statusNameFromWire } from '../common/wire-status.js';

/** A delta that does not start from the state held: a message was missed. */
export class DeltaGap extends Error {
  constructor(
    readonly held: number,
    readonly from: number,
  ) {
    super(`delta from revision ${from} does not apply to the revision held (${held})`);
    this.name = 'DeltaGap';
  }
}

/** The state after a delta does not have the server's checksum. */
export class ChecksumMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`checksum after the delta is ${actual}, the server says ${expected}`);
    this.name = 'ChecksumMismatch';
  }
}

/** What a client may resume from: the revision and checksum of the state it holds. */
export interface Held {
  readonly revision: number;
  readonly checksum: string;
}

function byId(a: Instance, b: Instance): number {
  return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
}

/** Checksum lines per received instance (instances are never mutated once received). */
const checksums = new ChecksumCache();
const hostsOfWire = new WeakMap<Instance, ChecksumHost>();

function checksumHost(i: Instance): ChecksumHost {
  let h = hostsOfWire.get(i);
  if (h === undefined) {
    h = Object.freeze({ ...i, status: statusNameFromWire(i.status) ?? 'UNKNOWN', overriddenStatus: statusNameFromWire(i.overriddenStatus) });
    hostsOfWire.set(i, h);
  }
  return h;
}

/** The checksum a client computes over hosts it received (ServiceInfo.checksum's rule). */
export function checksumOf(hosts: readonly Instance[]): string {
  return checksums.serviceChecksum(hosts.map(checksumHost));
}

/** Applies `delta` to `held`; throws DeltaGap or ChecksumMismatch. */
export function applyDelta(held: ServiceInfo, delta: ServiceDelta): ServiceInfo {
  if (delta.fromRevision !== held.revision) throw new DeltaGap(held.revision, delta.fromRevision);
  let hosts = held.hosts;
  if (delta.removed.length > 0 || delta.upserted.length > 0) {
    const removed = new Set(delta.removed);
    const upserted = new Map(delta.upserted.map((i) => [i.instanceId, i]));
    const kept = hosts.filter((h) => !removed.has(h.instanceId) && !upserted.has(h.instanceId));
    hosts = [...kept, ...delta.upserted].sort(byId);
    const actual = checksumOf(hosts);
    if (actual !== delta.checksum) throw new ChecksumMismatch(delta.checksum, actual);
  } else if (delta.checksum !== held.checksum) {
    throw new ChecksumMismatch(delta.checksum, held.checksum);
  }
  return {
    namespace: delta.namespace,
    group: delta.group,
    name: delta.name,
    clusters: delta.clusters,
    hosts,
    lastRefTime: delta.lastRefTime,
    checksum: delta.checksum,
    revision: delta.revision,
    cacheMillis: delta.cacheMillis,
    reachProtectionThreshold: delta.reachProtectionThreshold,
    protectThreshold: delta.protectThreshold,
  };
}

/** One followed service: feed it every message of its stream, in order. */
export class DeltaFollower {
  private state: ServiceInfo | undefined;

  /** `resumeFrom`: a state held from an earlier stream, which a first delta may apply to. */
  constructor(resumeFrom?: ServiceInfo) {
    this.state = resumeFrom;
  }

  /** Applies one message; returns the service as it now is. Throws DeltaGap or ChecksumMismatch. */
  accept(msg: { serviceInfo?: ServiceInfo | undefined; delta?: ServiceDelta | undefined }): ServiceInfo {
    if (msg.serviceInfo !== undefined) {
      this.state = msg.serviceInfo;
      return msg.serviceInfo;
    }
    if (msg.delta === undefined) throw new Error('the message carries neither a snapshot nor a delta');
    if (this.state === undefined) throw new DeltaGap(0, msg.delta.fromRevision);
    this.state = applyDelta(this.state, msg.delta);
    return this.state;
  }

  /** The state held, if any. */
  get held(): ServiceInfo | undefined {
    return this.state;
  }
}
