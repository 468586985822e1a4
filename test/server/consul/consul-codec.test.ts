import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/core/errors.js';
import type { InstanceRecord } from '../../../src/core/model.js';
import { checkStatusOf, CONSUL_META, metaOf, parseDurationMs, registrationFromConsul, serviceEntry, tagsOf } from '../../../src/server/consul/consul-codec.js';
import { unservedAnswer } from '../../../src/server/consul/consul-errors.js';

const ctx = { namespace: 'public', callerAddress: '10.9.9.9', defaultLeaseMs: 90_000 };

function refused(body: unknown): string {
  try {
    registrationFromConsul(body, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('INVALID_ARGUMENT');
    return (e as RegistryError).message;
  }
  throw new Error('accepted');
}

function record(over: Partial<InstanceRecord>): InstanceRecord {
  return {
    instanceId: 'web-1',
    ip: '10.0.0.1',
    port: 80,
    weight: 1,
    healthy: true,
    reportedHealthy: true,
    unhealthyAfterMs: 0,
    enabled: true,
    ephemeral: true,
    cluster: 'DEFAULT',
    metadata: {},
    status: 'UP',
    overriddenStatus: undefined,
    registeredStatus: 'UP',
    lastDirtyTimestamp: 1,
    lastUpdatedTimestamp: 2,
    leaseDurationMs: 90_000,
    renewalIntervalMs: 30_000,
    registrationTimestamp: 1,
    serviceUpTimestamp: 1,
    evictionTimestamp: 0,
    version: 1,
    registrant: '',
    transport: 'consul',
    ...over,
  };
}

describe('Consul codec', () => {
  it('parses Go durations', () => {
    expect(parseDurationMs('10s')).toBe(10_000);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs(5_000_000_000)).toBe(5_000);
    expect(parseDurationMs('10')).toBeUndefined();
    expect(parseDurationMs('soon')).toBeUndefined();
  });

  it('maps a registration with a TTL check onto an ephemeral instance whose lease follows the TTL', () => {
    const { input, check } = registrationFromConsul(
      { Name: 'web', ID: 'web-1', Address: '10.0.0.1', Port: 80, Tags: ['a', 'b'], Meta: { v: '1' }, Check: { TTL: '10s', DeregisterCriticalServiceAfter: '1m' } },
      ctx,
    );
    expect(check).toMatchObject({ ttlMs: 10_000, status: 'critical', checkId: 'service:web-1', deregisterAfterMs: 60_000 });
    expect(input).toMatchObject({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'web' });
    expect(input.instance).toMatchObject({
      instanceId: 'web-1',
      ip: '10.0.0.1',
      port: 80,
      ephemeral: true,
      healthy: false,
      leaseDurationMs: 70_000,
      unhealthyAfterMs: 10_000,
      metadata: { v: '1', [CONSUL_META.tags]: '["a","b"]', [CONSUL_META.check]: 'critical', [CONSUL_META.checkId]: 'service:web-1' },
    });
  });

  it('keeps a critical TTL service for the default lease when DeregisterCriticalServiceAfter is not given; Status passing starts healthy', () => {
    const { input } = registrationFromConsul({ Name: 'web', Port: 80, Check: { TTL: '5s', Status: 'passing' } }, ctx);
    expect(input.instance).toMatchObject({ instanceId: 'web', ip: '10.9.9.9', healthy: true, leaseDurationMs: 95_000 });
  });

  it('makes a check-less service persistent and passing', () => {
    const { input, check } = registrationFromConsul({ Name: 'db', Address: 'db.local', Port: 5432 }, ctx);
    expect(check).toBeUndefined();
    expect(input.instance).toMatchObject({ ephemeral: false, healthy: true, metadata: {} });
    expect(input.instance?.leaseDurationMs).toBeUndefined();
  });

  it("refuses bad input with Consul's messages", () => {
    expect(refused('x')).toMatch(/Request decode failed/);
    expect(refused({ Port: 80 })).toBe('Missing service name');
    expect(refused({ Name: 'web', Port: 'x' })).toMatch(/Invalid Port/);
    expect(refused({ Name: 'web', Port: 70_000 })).toMatch(/Invalid Port/);
    expect(refused({ Name: 'web', Port: 1, Tags: 'a' })).toMatch(/Tags/);
    expect(refused({ Name: 'web', Port: 1, Meta: { n: 1 } })).toMatch(/Invalid Service Meta/);
    expect(refused({ Name: 'web', Port: 1, Meta: { 'consul.tags': 'x' } })).toMatch(/reserved/);
    expect(refused({ Name: 'web', Port: 1, Check: { TTL: 'soon' } })).toMatch(/TTL must be > 0/);
    expect(refused({ Name: 'web', Port: 1, Check: { HTTP: 'http://x/health', Interval: '10s' } })).toMatch(/no HTTP checks/);
    expect(refused({ Name: 'web', Port: 1, Checks: [{ TTL: '1s' }, { TTL: '2s' }] })).toMatch(/one TTL check/);
    expect(refused({ Name: 'web', Port: 1, Check: { TTL: '1s', Status: 'fine' } })).toMatch(/Status/);
    expect(refused({ Name: 'web', Port: 1, Connect: { Native: true } })).toMatch(/Connect/);
  });

  it('shows instances of any API as Consul service entries', () => {
    const tagged = record({ metadata: { v: '1', [CONSUL_META.tags]: '["a"]', [CONSUL_META.check]: 'warning' } });
    expect(tagsOf(tagged)).toEqual(['a']);
    expect(metaOf(tagged)).toEqual({ v: '1' });
    expect(checkStatusOf(tagged)).toBe('warning');
    expect(checkStatusOf(record({ healthy: false }))).toBe('critical');
    expect(checkStatusOf(record({ status: 'OUT_OF_SERVICE' }))).toBe('critical');
    expect(checkStatusOf(record({ metadata: { zone: 'a' } }))).toBe('passing');
    expect(serviceEntry('web', tagged, 'node-1')).toMatchObject({
      Node: { Node: 'node-1', Address: '10.0.0.1' },
      Service: { ID: 'web-1', Service: 'web', Tags: ['a'], Meta: { v: '1' }, Port: 80, Address: '10.0.0.1' },
      Checks: [{ CheckID: 'service:web-1', Status: 'warning', ServiceID: 'web-1', ServiceName: 'web' }],
    });
  });

  it('answers unserved endpoints from one table', () => {
    expect(unservedAnswer('acl/token/self')).toMatchObject({ status: 401, message: 'ACL support disabled' });
    expect(unservedAnswer('kv/config/x').status).toBe(501);
    expect(unservedAnswer('connect/ca/roots').status).toBe(501);
    expect(unservedAnswer('nothing/here')).toMatchObject({ status: 404 });
  });
});
