/**
 * Digests clients can recompute (docs/protocol.md gives the exact format):
 *
 * - a service checksum: lowercase hex MD5 over one line per host, hosts in the order given (sorted by
 *   instance id in every ServiceInfo), each line
 *   `instanceId \t ip \t port \t round(weight × 1000) \t healthy \t enabled \t ephemeral \t cluster
 *    \t status \t overriddenStatus \t metadata \n`, booleans as 1/0, the override empty when there is
 *   none, metadata as the JSON array of [key, value] pairs sorted by key;
 * - a reconcile hash: lowercase hex SHA-1 over the `group@@service:checksum\n` lines of the non-empty
 *   services of a namespace, the lines sorted as strings (names are ASCII, so any language's sort agrees).
 */
import { createHash } from 'node:crypto';
import type { InstanceRecord } from './model.js';

/** The fields of a host the checksum covers; records and wire instances both have them. */
export type ChecksumHost = Pick<
  InstanceRecord,
  'instanceId' | 'ip' | 'port' | 'weight' | 'healthy' | 'enabled' | 'ephemeral' | 'cluster' | 'status' | 'overriddenStatus' | 'metadata'
>;

function hostLine(h: ChecksumHost): string {
  const meta = Object.keys(h.metadata)
    .sort()
    .map((k) => [k, h.metadata[k]]);
  return (
    `${h.instanceId}\t${h.ip}\t${h.port}\t${Math.round(h.weight * 1000)}\t${h.healthy ? 1 : 0}\t${h.enabled ? 1 : 0}\t` +
    `${h.ephemeral ? 1 : 0}\t${h.cluster}\t${h.status}\t${h.overriddenStatus ?? ''}\t${JSON.stringify(meta)}\n`
  );
}

export function serviceChecksum(hosts: readonly ChecksumHost[]): string {
  const md5 = createHash('md5');
  for (const h of hosts) md5.update(hostLine(h));
  return md5.digest('hex');
}

/**
 * Service checksums that remember the line of each immutable host (record), so a rebuild after one
 * change formats one line, not all. One per registry (its owner); entries go with their records.
 */
export class ChecksumCache {
  private readonly lines = new WeakMap<ChecksumHost, string>();

  readonly serviceChecksum = (hosts: readonly ChecksumHost[]): string => {
    const md5 = createHash('md5');
    for (const h of hosts) {
      let line = this.lines.get(h);
      if (line === undefined) {
        line = hostLine(h);
        if (Object.isFrozen(h)) this.lines.set(h, line);
      }
      md5.update(line);
    }
    return md5.digest('hex');
  };
}

/** `entries` are [group@@service, checksum] of the non-empty services, in any order. */
export function reconcileHash(entries: Iterable<readonly [string, string]>): string {
  const lines = [...entries].map(([key, checksum]) => `${key}:${checksum}\n`).sort();
  const sha = createHash('sha1');
  for (const l of lines) sha.update(l);
  return sha.digest('hex');
}

/**
 * The replica digest peers compare in anti-entropy (never shown to clients): lowercase hex MD5 over
 * `instanceId \t version \n` of a service's instances in instance-id order. Two nodes with the same
 * digest hold the same writes of the service; health flags and leases, which each node keeps for
 * itself, do not count.
 */
export function replicaDigest(hosts: readonly Pick<InstanceRecord, 'instanceId' | 'version'>[]): string {
  const md5 = createHash('md5');
  for (const h of hosts) md5.update(`${h.instanceId}\t${h.version}\n`);
  return md5.digest('hex');
}
