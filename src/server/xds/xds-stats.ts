/** What the xDS (ADS) service counts, for metrics: its open streams and, by resource type, what it sent and what was rejected. */
import { TYPE_URL } from './xds-codec.js';

export interface XdsStats {
  /** Open ADS streams. */
  readonly streams: number;
  /** Responses sent and NACKs received since start, by type URL. */
  readonly responses: ReadonlyMap<string, number>;
  readonly nacks: ReadonlyMap<string, number>;
  /** Endpoint updates replaced by a newer one before a slow client drained (latest wins). */
  readonly skipped: number;
  /** Streams refused or ended: no or wrong credentials, no read on a name's namespace, or a stream limit. */
  readonly refused: number;
}

/** The `type` label of each served type URL; any other is `other` (labels stay bounded). */
export const XDS_TYPE_LABELS: ReadonlyMap<string, string> = new Map([
  [TYPE_URL.listener, 'listener'],
  [TYPE_URL.route, 'route'],
  [TYPE_URL.cluster, 'cluster'],
  [TYPE_URL.endpoints, 'endpoints'],
]);
