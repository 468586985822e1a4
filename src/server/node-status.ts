/** What `herald status` and ClusterService/GetNodeStatus report about one node. */
import type { EvictionRun } from './eviction-loop.js';

export interface NodeStatus {
  readonly nodeId: string;
  /** The node's clock (ms since epoch). */
  readonly now: number;
  readonly namespaces: number;
  readonly services: number;
  readonly instances: number;
  readonly selfPreservation: {
    readonly enabled: boolean;
    readonly active: boolean;
    readonly expectedRenewsPerMinute: number;
    readonly renewsLastMinute: number;
    readonly renewsThreshold: number;
    readonly leaseBoundInstances: number;
    readonly minInstances: number;
    readonly renewalPercentThreshold: number;
  };
  /** Undefined before the first run. */
  readonly lastEviction: EvictionRun | undefined;
  readonly evictionIntervalMs: number;
  readonly evictedTotal: number;
  readonly tombstones: number;
  readonly tombstonesDropped: number;
  readonly subscribers: number;
}
