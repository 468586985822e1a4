import { describe, expect, it } from 'vitest';
import { DEFAULT_REGISTRY_OPTIONS, RegistryError } from '../../src/core/index.js';
import { normalizeInstanceRef, normalizeRegistration, type RegisterInput } from '../../src/core/validate.js';

const o = DEFAULT_REGISTRY_OPTIONS;
const NOW = 5_000;

function violations(input: RegisterInput): { field: string; description: string }[] {
  try {
    normalizeRegistration(input, o, NOW);
  } catch (e) {
    if (e instanceof RegistryError) {
      expect(e.code).toBe('INVALID_ARGUMENT');
      return [...e.violations];
    }
    throw e;
  }
  return [];
}

describe('normalizeRegistration', () => {
  it('fills every default', () => {
    const r = normalizeRegistration({ service: 'orders', instance: { ip: '10.0.0.1', port: 80 } }, o, NOW);
    expect(r).toMatchObject({
      ref: { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', instanceId: '10.0.0.1#80#DEFAULT#DEFAULT_GROUP@@orders' },
      weight: 1,
      healthy: true,
      enabled: true,
      ephemeral: true,
      cluster: 'DEFAULT',
      status: 'UP',
      overriddenStatus: undefined,
      lastDirtyTimestamp: NOW,
      leaseDurationMs: 90_000,
      renewalIntervalMs: 30_000,
    });
  });

  it('names a missing ip, port and service each, in one error', () => {
    const v = violations({ instance: {} });
    expect(v.map((x) => x.field)).toEqual(['service', 'instance.ip', 'instance.port']);
    expect(v[1]?.description).toBe('instance.ip is required');
  });

  it('requires the instance itself', () => {
    expect(violations({ service: 's' })).toEqual([{ field: 'instance', description: 'instance is required' }]);
  });

  it.each([
    ['999.1.1.1', false],
    ['10.0.0.1', true],
    ['::1', true],
    ['fe80::1%eth0', false],
    ['2001:db8::8a2e:370:7334', true],
    ['orders-1.svc.cluster.local', true],
    ['bad host', false],
    ['-leading.dash', false],
    ['1.2.3', false],
  ])('ip %s valid=%s', (ip, ok) => {
    const v = violations({ service: 's', instance: { ip, port: 1 } });
    expect(v.length === 0).toBe(ok);
    if (!ok) expect(v[0]?.field).toBe('instance.ip');
  });

  it.each([0, -1, 65_536, 1.5])('rejects port %s', (port) => {
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port } })[0]?.field).toBe('instance.port');
  });

  it('bounds weight and accepts 0', () => {
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, weight: 0 } })).toEqual([]);
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, weight: -0.1 } })[0]?.field).toBe('instance.weight');
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, weight: 10_001 } })[0]?.field).toBe('instance.weight');
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, weight: Number.NaN } })[0]?.field).toBe('instance.weight');
  });

  it('rejects names with bad characters or too long', () => {
    expect(violations({ service: 'a b', instance: { ip: '1.1.1.1', port: 1 } })[0]?.description).toContain(
      'service "a b" may only contain letters',
    );
    expect(violations({ service: 'a@@b', instance: { ip: '1.1.1.1', port: 1 } })[0]?.field).toBe('service');
    expect(violations({ group: 'g'.repeat(257), service: 's', instance: { ip: '1.1.1.1', port: 1 } })[0]?.description).toContain(
      'group is 257 characters long',
    );
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, cluster: 'x/y' } })[0]?.field).toBe('instance.cluster');
    expect(violations({ service: 'providers:com.acme.Api:1.0:', instance: { ip: '1.1.1.1', port: 1 } })).toEqual([]);
  });

  it('enforces metadata limits', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, metadata: many } })[0]?.description).toBe(
      'instance.metadata has 65 entries, more than the limit of 64',
    );
    const big = { k: 'x'.repeat(8_192) };
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, metadata: big } })[0]?.description).toBe(
      'instance.metadata is 8193 bytes, more than the limit of 8192',
    );
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, metadata: { '': 'v' } } })[0]?.field).toBe('instance.metadata[""]');
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, metadata: { ['k'.repeat(129)]: 'v' } } })[0]?.field).toMatch(
      /^instance\.metadata\["k+/,
    );
  });

  it('checks statuses by name', () => {
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, status: 'SLEEPING' } })[0]?.description).toBe(
      'instance.status "SLEEPING" is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN',
    );
    const r = normalizeRegistration({ service: 's', instance: { ip: '1.1.1.1', port: 1, overriddenStatus: 'UNKNOWN' } }, o, NOW);
    expect(r.overriddenStatus).toBeUndefined();
  });

  it('defaults and bounds lease settings', () => {
    const short = normalizeRegistration({ service: 's', instance: { ip: '1.1.1.1', port: 1, leaseDurationMs: 9_000 } }, o, NOW);
    expect(short.renewalIntervalMs).toBe(3_000);
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, leaseDurationMs: 999 } })[0]?.field).toBe('instance.lease.duration_ms');
    expect(
      violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, leaseDurationMs: 10_000, renewalIntervalMs: 10_000 } })[0]?.field,
    ).toBe('instance.lease.renewal_interval_ms');
  });

  it('rejects instance ids with control characters or too long', () => {
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, instanceId: 'a\nb' } })[0]?.field).toBe('instance.instance_id');
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, instanceId: 'i'.repeat(257) } })[0]?.field).toBe(
      'instance.instance_id',
    );
  });

  it('rejects a negative dirty timestamp', () => {
    expect(violations({ service: 's', instance: { ip: '1.1.1.1', port: 1, lastDirtyTimestamp: -5 } })[0]?.field).toBe(
      'instance.last_dirty_timestamp',
    );
  });
});

describe('normalizeInstanceRef', () => {
  it('requires instance_id and service', () => {
    try {
      normalizeInstanceRef({}, o);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RegistryError);
      expect((e as RegistryError).message).toBe('service is required; instance_id is required');
    }
  });
});
