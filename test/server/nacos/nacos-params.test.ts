import { describe, expect, it } from 'vitest';
import { RegistryError, type FieldViolation } from '../../../src/core/errors.js';
import {
  beatInfo,
  bool,
  inNacosTerms,
  instanceAddress,
  namespaceOf,
  parseMetadata,
  registration,
  serviceOf,
  type NacosTiming,
} from '../../../src/server/nacos/nacos-params.js';
import { makeRegistry } from '../../core/helpers.js';

const TIMING: NacosTiming = { beatIntervalMs: 5_000, beatTimeoutMs: 15_000, ipDeleteTimeoutMs: 30_000 };

/** The RegistryError a call throws (failing the test if it throws nothing or something else). */
function refusal(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RegistryError) return e;
    throw e;
  }
  throw new Error('expected a RegistryError');
}

/** The message a Nacos client gets when the core refuses what `registration(params)` produced. */
function coreRefusal(params: Record<string, string>): string {
  const { registry } = makeRegistry();
  return inNacosTerms(refusal(() => registry.register(registration(params, TIMING))));
}

describe('serviceOf and namespaceOf', () => {
  it('splits a grouped serviceName, which wins over groupName', () => {
    const v: FieldViolation[] = [];
    expect(serviceOf({ serviceName: 'SHOP@@orders', groupName: 'OTHER' }, v)).toEqual({ group: 'SHOP', service: 'orders' });
    expect(serviceOf({ serviceName: 'orders', groupName: 'SHOP' }, v)).toEqual({ group: 'SHOP', service: 'orders' });
    expect(serviceOf({ serviceName: 'orders', groupName: '' }, v)).toEqual({ group: 'DEFAULT_GROUP', service: 'orders' });
    expect(serviceOf({ serviceName: 'orders' }, v)).toEqual({ group: 'DEFAULT_GROUP', service: 'orders' });
    expect(v).toEqual([]);
  });

  it('reports a missing serviceName in Nacos’s words', () => {
    const v: FieldViolation[] = [];
    serviceOf({ serviceName: '' }, v);
    serviceOf({}, v);
    expect(v).toEqual([
      { field: 'serviceName', description: "Param 'serviceName' is required." },
      { field: 'serviceName', description: "Param 'serviceName' is required." },
    ]);
  });

  it('defaults namespaceId to public', () => {
    expect(namespaceOf({})).toBe('public');
    expect(namespaceOf({ namespaceId: '' })).toBe('public');
    expect(namespaceOf({ namespaceId: 'dev' })).toBe('dev');
  });
});

describe('bool', () => {
  it('reads true and false, falls back when absent or empty, and names the parameter when neither', () => {
    const v: FieldViolation[] = [];
    expect(bool({ healthy: 'true' }, 'healthy', false, v)).toBe(true);
    expect(bool({ healthy: 'false' }, 'healthy', true, v)).toBe(false);
    expect(bool({}, 'healthy', true, v)).toBe(true);
    expect(bool({ healthy: '' }, 'healthy', false, v)).toBe(false);
    expect(v).toEqual([]);
    expect(bool({ healthy: 'yes' }, 'healthy', true, v)).toBe(true);
    expect(bool({ healthy: 'TRUE' }, 'healthy', false, v)).toBe(false);
    expect(v).toEqual([
      { field: 'healthy', description: 'healthy must be true or false (got "yes")' },
      { field: 'healthy', description: 'healthy must be true or false (got "TRUE")' },
    ]);
  });

  it('quotes at most 32 characters of a bad value', () => {
    const v: FieldViolation[] = [];
    bool({ enabled: 'x'.repeat(100) }, 'enabled', true, v);
    expect(v[0]?.description).toBe(`enabled must be true or false (got "${'x'.repeat(32)}")`);
  });
});

describe('parseMetadata', () => {
  it('reads a JSON object, values that are not strings as JSON text', () => {
    const v: FieldViolation[] = [];
    expect(parseMetadata('{"version":"1.4","weight":2,"canary":true,"tags":["a"]}', v)).toEqual({ version: '1.4', weight: '2', canary: 'true', tags: '["a"]' });
    expect(parseMetadata('  {"a":"b"}  ', v)).toEqual({ a: 'b' });
    expect(v).toEqual([]);
  });

  it('reads k=v pairs separated by commas; a value may contain "="', () => {
    const v: FieldViolation[] = [];
    expect(parseMetadata('version=1.4,zone=a', v)).toEqual({ version: '1.4', zone: 'a' });
    expect(parseMetadata('query=a=b', v)).toEqual({ query: 'a=b' });
    expect(parseMetadata('empty=', v)).toEqual({ empty: '' });
    expect(v).toEqual([]);
  });

  it('reads nothing from an absent or blank parameter', () => {
    const v: FieldViolation[] = [];
    expect(parseMetadata(undefined, v)).toEqual({});
    expect(parseMetadata('  ', v)).toEqual({});
    expect(v).toEqual([]);
  });

  it.each([['{"a":'], ['{["a"]}'], ['{}x'], ['[1]'], ['null'], ['novalue'], ['=v'], ['a=1,,b=2']])('refuses %s, naming metadata', (raw) => {
    const v: FieldViolation[] = [];
    expect(parseMetadata(raw, v)).toEqual({});
    expect(v).toEqual([{ field: 'metadata', description: 'metadata must be a JSON object or k=v pairs separated by commas' }]);
  });

  it('accepts a trailing comma, as Nacos does', () => {
    const v: FieldViolation[] = [];
    expect(parseMetadata('version=1.4,', v)).toEqual({ version: '1.4' });
    expect(v).toEqual([]);
  });
});

describe('registration', () => {
  it('maps the Nacos parameters of POST /instance to a core registration', () => {
    const input = registration(
      {
        namespaceId: 'dev',
        serviceName: 'SHOP@@orders',
        ip: '10.0.0.5',
        port: '8080',
        weight: '2.5',
        enable: 'false',
        healthy: 'false',
        ephemeral: 'true',
        clusterName: 'east',
        metadata: 'version=1.4',
      },
      TIMING,
    );
    expect(input).toEqual({
      namespace: 'dev',
      group: 'SHOP',
      service: 'orders',
      instance: {
        ip: '10.0.0.5',
        port: 8080,
        weight: 2.5,
        enabled: false,
        healthy: false,
        ephemeral: true,
        cluster: 'east',
        metadata: { version: '1.4' },
        renewalIntervalMs: 5_000,
        unhealthyAfterMs: 15_000,
        leaseDurationMs: 30_000,
      },
    });
  });

  it('defaults: public, DEFAULT_GROUP, cluster DEFAULT, enabled, healthy, ephemeral, server beat timing', () => {
    expect(registration({ serviceName: 'orders', ip: '10.0.0.5', port: '8080' }, TIMING)).toEqual({
      namespace: 'public',
      group: 'DEFAULT_GROUP',
      service: 'orders',
      instance: {
        ip: '10.0.0.5',
        port: 8080,
        weight: undefined,
        enabled: true,
        healthy: true,
        ephemeral: true,
        cluster: 'DEFAULT',
        metadata: {},
        renewalIntervalMs: 5_000,
        unhealthyAfterMs: 15_000,
        leaseDurationMs: 30_000,
      },
    });
  });

  it('takes `enabled` when the client sends it instead of `enable`', () => {
    expect(registration({ serviceName: 'a', ip: '10.0.0.5', port: '1', enabled: 'false' }, TIMING).instance?.enabled).toBe(false);
    expect(registration({ serviceName: 'a', ip: '10.0.0.5', port: '1', enable: 'true', enabled: 'false' }, TIMING).instance?.enabled).toBe(true);
  });

  it('takes beat timing from the preserved.* metadata keys, ignoring values that are not positive integers', () => {
    const timing = (metadata: Record<string, string>) => {
      const i = registration({ serviceName: 'a', ip: '10.0.0.5', port: '1', metadata: JSON.stringify(metadata) }, TIMING).instance;
      return [i?.renewalIntervalMs, i?.unhealthyAfterMs, i?.leaseDurationMs];
    };
    expect(timing({ 'preserved.heart.beat.interval': '1000', 'preserved.heart.beat.timeout': '3000', 'preserved.ip.delete.timeout': '9000' })).toEqual([1_000, 3_000, 9_000]);
    expect(timing({ 'preserved.heart.beat.interval': '2000' })).toEqual([2_000, 15_000, 30_000]);
    expect(timing({ 'preserved.heart.beat.interval': '0', 'preserved.heart.beat.timeout': '-5', 'preserved.ip.delete.timeout': '1.5' })).toEqual([5_000, 15_000, 30_000]);
    expect(timing({ 'preserved.heart.beat.interval': 'soon' })).toEqual([5_000, 15_000, 30_000]);
    // The keys stay in the instance's metadata, as in Nacos.
    const metadata = registration({ serviceName: 'a', ip: '10.0.0.5', port: '1', metadata: 'preserved.heart.beat.interval=1000' }, TIMING).instance?.metadata;
    expect(metadata).toEqual({ 'preserved.heart.beat.interval': '1000' });
  });

  it('gives a persistent instance no beat timing (no expiry, never unhealthy for want of beats)', () => {
    const i = registration({ serviceName: 'a', ip: '10.0.0.5', port: '1', ephemeral: 'false', metadata: 'preserved.heart.beat.interval=1000' }, TIMING).instance;
    expect(i).toMatchObject({ ephemeral: false, renewalIntervalMs: undefined, unhealthyAfterMs: 0, leaseDurationMs: undefined });
  });

  it('reports every bad parameter at once, each named as Nacos names it', () => {
    const e = refusal(() => registration({ port: '80.5', weight: 'heavy', healthy: 'maybe', enable: 'no', ephemeral: '1', metadata: 'x' }, TIMING));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.violations.map((v) => v.field)).toEqual(['serviceName', 'ip', 'port', 'weight', 'enable', 'healthy', 'ephemeral', 'metadata']);
    expect(e.violations.map((v) => v.description)).toEqual([
      "Param 'serviceName' is required.",
      "Param 'ip' is required.",
      'port must be an integer (got "80.5")',
      'weight must be a number (got "heavy")',
      'enable must be true or false (got "no")',
      'healthy must be true or false (got "maybe")',
      'ephemeral must be true or false (got "1")',
      'metadata must be a JSON object or k=v pairs separated by commas',
    ]);
    expect(inNacosTerms(e)).toBe(e.violations.map((v) => v.description).join('; '));
    expect(refusal(() => registration({ serviceName: 'a', ip: '10.0.0.5' }, TIMING)).message).toBe("Param 'port' is required.");
  });
});

describe('inNacosTerms', () => {
  it('names the core’s fields as Nacos parameters in the core’s messages', () => {
    expect(coreRefusal({ serviceName: 'a', ip: 'not an ip!', port: '8080' })).toBe('ip "not an ip!" is not an IPv4 or IPv6 address or a host name');
    expect(coreRefusal({ serviceName: 'a', ip: '10.0.0.5', port: '70000' })).toBe('port must be between 1 and 65535 (got 70000)');
    expect(coreRefusal({ serviceName: 'a', ip: '10.0.0.5', port: '8080', clusterName: 'east west' })).toMatch(/^clusterName "east west" may only contain/);
    expect(coreRefusal({ serviceName: 'a', ip: '10.0.0.5', port: '8080', namespaceId: 'dev ns' })).toMatch(/^namespaceId "dev ns" may only contain/);
    expect(coreRefusal({ serviceName: 'a', ip: '10.0.0.5', port: '8080', groupName: 'my grp' })).toMatch(/^groupName "my grp" may only contain/);
    expect(coreRefusal({ serviceName: 'a', ip: '10.0.0.5', port: '8080', metadata: JSON.stringify({ '': 'x' }) })).toBe('metadata keys must not be empty');
    expect(coreRefusal({ serviceName: 'a', ip: '10.0.0.5', port: '8080', metadata: 'preserved.ip.delete.timeout=999999999999' })).toMatch(/^preserved\.ip\.delete\.timeout must be between/);
  });

  it('joins several violations with "; " and leaves an error without violations as it is', () => {
    expect(coreRefusal({ serviceName: 'a', ip: 'not an ip!', port: '70000' })).toBe(
      'ip "not an ip!" is not an IPv4 or IPv6 address or a host name; port must be between 1 and 65535 (got 70000)',
    );
    expect(inNacosTerms(RegistryError.notFound('instance x is not registered'))).toBe('instance x is not registered');
  });

  it('leaves a violation whose field is not a core path as it is', () => {
    expect(inNacosTerms(RegistryError.invalid([{ field: 'beat', description: 'beat must carry ip and port' }]))).toBe('beat must carry ip and port');
  });

  it('quotes the caller’s value as sent', () => {
    expect(coreRefusal({ serviceName: 'user-service!', ip: '10.0.0.5', port: '8080' })).toMatch(/^serviceName "user-service!" may only contain/);
  });
});

describe('instanceAddress', () => {
  it('derives the instance id ip#port#cluster#group@@service, as Nacos does', () => {
    expect(instanceAddress({ serviceName: 'SHOP@@orders', ip: '10.0.0.5', port: '8080', clusterName: 'east', namespaceId: 'dev' })).toEqual({
      namespace: 'dev',
      group: 'SHOP',
      service: 'orders',
      instanceId: '10.0.0.5#8080#east#SHOP@@orders',
    });
    expect(instanceAddress({ serviceName: 'orders', ip: '10.0.0.5', port: '8080' }).instanceId).toBe('10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@orders');
    expect(instanceAddress({ serviceName: 'orders', ip: '10.0.0.5', port: '8080', clusterName: '' }).instanceId).toBe('10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@orders');
  });

  it('takes ip, port and cluster from a beat over the parameters', () => {
    expect(instanceAddress({ serviceName: 'orders', ip: '10.0.0.5', port: '8080', clusterName: 'east' }, { ip: '10.0.0.6', port: 9090, cluster: 'west' }).instanceId).toBe(
      '10.0.0.6#9090#west#DEFAULT_GROUP@@orders',
    );
    expect(instanceAddress({ serviceName: 'orders' }, { ip: '10.0.0.6', port: 9090 }).instanceId).toBe('10.0.0.6#9090#DEFAULT#DEFAULT_GROUP@@orders');
  });

  it('names every missing parameter', () => {
    const e = refusal(() => instanceAddress({}));
    expect(e.violations.map((v) => v.description)).toEqual(["Param 'serviceName' is required.", "Param 'ip' is required.", "Param 'port' is required."]);
  });

  it('refuses a port that is not an integer, naming port', () => {
    const e = refusal(() => instanceAddress({ serviceName: 'orders', ip: '10.0.0.5', port: 'abc' }));
    expect(e.violations.map((v) => v.field)).toEqual(['port']);
  });
});

describe('beatInfo', () => {
  it('reads the beat JSON a Nacos 1.x client sends', () => {
    const beat = JSON.stringify({
      cluster: 'east',
      ip: '10.0.0.5',
      metadata: { version: '1.4', weight: 3 },
      period: 5000,
      port: 8080,
      scheduled: false,
      serviceName: 'DEFAULT_GROUP@@orders',
      stopped: false,
      weight: 2.0,
    });
    expect(beatInfo({ beat })).toEqual({ ip: '10.0.0.5', port: 8080, cluster: 'east', weight: 2, metadata: { version: '1.4', weight: '3' } });
  });

  it('leaves out what the beat does not carry', () => {
    expect(beatInfo({ beat: '{"ip":"10.0.0.5","port":"8080","cluster":"","weight":"2"}' })).toEqual({ ip: '10.0.0.5', port: 8080, cluster: undefined, weight: undefined, metadata: {} });
  });

  it('is undefined without a beat parameter (a light beat)', () => {
    expect(beatInfo({})).toBeUndefined();
    expect(beatInfo({ beat: '' })).toBeUndefined();
  });

  it.each([
    ['not JSON', '{ip:', 'beat must be a JSON object'],
    ['JSON but not an object', '42', 'beat must be a JSON object'],
    ['JSON null', 'null', 'beat must be a JSON object'],
    ['no ip', '{"port":8080}', 'beat must carry ip and port'],
    ['an empty ip', '{"ip":"","port":8080}', 'beat must carry ip and port'],
    ['no port', '{"ip":"10.0.0.5"}', 'beat must carry ip and port'],
    ['a fractional port', '{"ip":"10.0.0.5","port":80.5}', 'beat must carry ip and port'],
  ])('refuses a beat that is %s, naming beat', (_what, beat, message) => {
    const e = refusal(() => beatInfo({ beat }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.violations).toEqual([{ field: 'beat', description: message }]);
  });
});
