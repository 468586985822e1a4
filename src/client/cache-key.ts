/** Client cache keys: `group@@service@@clusters`, clusters sorted and comma-joined (Nacos's key). */
import { DEFAULT_GROUP, KEY_SEPARATOR } from '../core/model.js';
import { normalizeClusters } from '../core/service-view.js';

export interface ServiceQuery {
  /** Default DEFAULT_GROUP. */
  readonly group?: string;
  /** Only these clusters; default all. */
  readonly clusters?: readonly string[];
}

export interface CacheKeyParts {
  readonly group: string;
  readonly service: string;
  readonly clusters: readonly string[];
}

export function cacheKey(service: string, query: ServiceQuery = {}): string {
  const group = query.group === undefined || query.group === '' ? DEFAULT_GROUP : query.group;
  return [group, service, normalizeClusters(query.clusters).join(',')].join(KEY_SEPARATOR);
}

export function parseCacheKey(key: string): CacheKeyParts {
  const [group = DEFAULT_GROUP, service = '', clusters = ''] = key.split(KEY_SEPARATOR);
  return { group, service, clusters: clusters === '' ? [] : clusters.split(',') };
}
