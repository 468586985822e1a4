import { describe, expect, it } from 'vitest';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { sanitiseLabelName } from '../../src/server/prometheus-sd/prometheus-sd-api.js';
import { startServer } from '../support/server.js';

type Group = { targets: string[]; labels: Record<string, string> };

async function sd(server: HeraldServer, query = ''): Promise<{ status: number; text: string; groups: () => Group[] }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/prometheus/sd${query}`);
  const text = await res.text();
  return { status: res.status, text, groups: () => JSON.parse(text) as Group[] };
}

function seed(server: HeraldServer): void {
  const reg = (namespace: string, group: string, service: string, id: string, ip: string, extra: Record<string, unknown> = {}) =>
    server.registry.register({ namespace, group, service, instance: { instanceId: id, ip, port: 8080, metadata: { zone: 'a' }, ...extra } });
  reg('public', 'DEFAULT_GROUP', 'orders', 'o-1', '10.0.0.1');
  reg('public', 'DEFAULT_GROUP', 'orders', 'o-2', '10.0.0.2');
  reg('public', 'DEFAULT_GROUP', 'orders', 'o-3', '10.0.0.3', { metadata: { zone: 'b', 'app.version': '2' } });
  reg('public', 'DEFAULT_GROUP', 'orders', 'o-4', '10.0.0.4', { healthy: false });
  reg('public', 'batch', 'jobs', 'j-1', 'fe80::1', { cluster: 'east' });
  reg('prod', 'DEFAULT_GROUP', 'db', 'd-1', '10.1.0.1');
}

describe('Prometheus HTTP SD', () => {
  it('answers one target group per service and label set, labels sanitised', async () => {
    const server = await startServer();
    seed(server);
    const r = await sd(server);
    expect(r.status).toBe(200);
    const base = { __meta_herald_namespace: 'public', __meta_herald_group: 'DEFAULT_GROUP', __meta_herald_service: 'orders', __meta_herald_cluster: 'DEFAULT' };
    expect(r.groups()).toEqual([
      { targets: ['10.0.0.1:8080', '10.0.0.2:8080'], labels: { ...base, __meta_herald_healthy: 'true', __meta_herald_metadata_zone: 'a' } },
      { targets: ['10.0.0.3:8080'], labels: { ...base, __meta_herald_healthy: 'true', __meta_herald_metadata_app_version: '2', __meta_herald_metadata_zone: 'b' } },
      { targets: ['10.0.0.4:8080'], labels: { ...base, __meta_herald_healthy: 'false', __meta_herald_metadata_zone: 'a' } },
      {
        targets: ['[fe80::1]:8080'],
        labels: {
          ...base,
          __meta_herald_group: 'batch',
          __meta_herald_service: 'jobs',
          __meta_herald_cluster: 'east',
          __meta_herald_healthy: 'true',
          __meta_herald_metadata_zone: 'a',
        },
      },
    ]);
  });

  it('filters by namespace, group, service and health', async () => {
    const server = await startServer();
    seed(server);
    expect((await sd(server, '?namespace=prod')).groups().map((g) => g.labels.__meta_herald_service)).toEqual(['db']);
    expect((await sd(server, '?group=batch')).groups().map((g) => g.targets)).toEqual([['[fe80::1]:8080']]);
    expect((await sd(server, '?service=jobs,nope')).groups()).toHaveLength(1);
    expect((await sd(server, '?service=orders&healthy_only=true')).groups().flatMap((g) => g.targets)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    expect((await sd(server, '?namespace=nowhere')).groups()).toEqual([]);
  });

  it.each([
    ['?healthy_only=yes', 'parameter healthy_only must be true or false, not "yes"'],
    ['?namespace=', 'parameter namespace is empty'],
    ['?service=a,,b', 'parameter service has an empty name'],
    ['?group=a&group=b', 'parameter group is given more than once'],
    ['?cluster=x', 'unknown parameter cluster (known: namespace, group, service, healthy_only)'],
  ])('refuses %s with 400 naming the parameter, changing nothing', async (query, message) => {
    const server = await startServer();
    seed(server);
    const before = server.registry.stats();
    const r = await sd(server, query);
    expect([r.status, r.text]).toEqual([400, message]);
    expect(server.registry.stats()).toEqual(before);
  });

  it('sanitises label names as Prometheus requires', () => {
    expect(sanitiseLabelName('app.version')).toBe('app_version');
    expect(sanitiseLabelName('a-b c/ü')).toBe('a_b_c__');
    expect(sanitiseLabelName('ok_1')).toBe('ok_1');
  });
});
