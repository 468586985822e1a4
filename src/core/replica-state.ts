/**
 * What a starting peer syncs besides instances and tombstones: the services created or configured
 * explicitly (UpdateService), with their settings. Built on the registry's public reads.
 */
import type { ServiceRef } from './model.js';
import type { Registry } from './registry.js';

export interface ConfiguredService extends ServiceRef {
  readonly protectThreshold: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** The settings' write version (0 = unknown). */
  readonly version: number;
}

/** Services created or configured explicitly (their settings travel with a sync). */
export function configuredServices(registry: Pick<Registry, 'namespaceNames' | 'listServices'>): ConfiguredService[] {
  const out: ConfiguredService[] = [];
  for (const namespace of registry.namespaceNames()) {
    let pageToken = '';
    do {
      const page = registry.listServices({ namespace, pageSize: 1000, pageToken });
      for (const s of page.services) {
        if (s.configured) out.push({ namespace, group: s.group, service: s.name, protectThreshold: s.protectThreshold, metadata: s.metadata, version: s.settingsVersion });
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }
  return out;
}
