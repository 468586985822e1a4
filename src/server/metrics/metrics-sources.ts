/** What a node's metrics read, wired to its parts (read at scrape time only, through getters, so parts built later are seen). */
import type { Cluster } from '../../cluster/cluster.js';
import type { NodeCore } from '../node-core.js';
import type { XdsStats } from '../xds/xds-stats.js';
import type { MetricsSources, Readiness } from './node-metrics.js';

export function nodeMetricsSources(core: () => NodeCore, cluster: () => Cluster | undefined, readiness: () => Readiness, xds: () => XdsStats | undefined): MetricsSources {
  return {
    registry: {
      get options() {
        return core().registry.options;
      },
      stats: () => core().registry.stats(),
      populations: (perService) => core().registry.populations(perService),
    },
    writes: () => core().writes.snapshot(),
    evictions: () => core().evictions(),
    push: () => core().pushCounts(),
    udp: () => core().udp?.stats(),
    peers: () => cluster()?.status() ?? [],
    readiness,
    xds,
  };
}
