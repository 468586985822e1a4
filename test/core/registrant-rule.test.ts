/**
 * The registrant rule on a manual clock: an identity with write permission changes only the
 * instances it registered (or unowned ones); an admin changes any; replication and the server's
 * own decisions are not checked; the registrant survives re-registration, adoption and peer copies.
 */
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/core/errors.js';
import type { Actor } from '../../src/core/model.js';
import { registrationOf } from '../../src/core/registry.js';
import { inst, makeRegistry } from './helpers.js';

const ORDERS: Actor = { name: 'orders', admin: false };
const BILLING: Actor = { name: 'billing', admin: false };
const ADMIN: Actor = { name: 'root', admin: true };
const REF = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', instanceId: 'o-1' };

function setup() {
  const { registry, clock } = makeRegistry();
  registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) }, { actor: ORDERS });
  return { registry, clock };
}

function denied(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('PERMISSION_DENIED');
    return e as RegistryError;
  }
  throw new Error('expected PERMISSION_DENIED');
}

describe('the registrant rule', () => {
  it('stores who registered an instance', () => {
    const { registry } = setup();
    expect(registry.getInstance(REF).record.registrant).toBe('orders');
  });

  it('refuses every write by another identity, naming the instance, the registrant and the caller, and changes nothing', () => {
    const { registry } = setup();
    const before = registry.getInstance(REF).record;
    const writes: [string, () => unknown][] = [
      ['register', () => registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1', ip: '6.6.6.6' }) }, { actor: BILLING })],
      ['renew', () => registry.renew(REF, { actor: BILLING })],
      ['cancel', () => registry.cancel(REF, { actor: BILLING })],
      ['setStatus', () => registry.setStatus({ ...REF, status: 'OUT_OF_SERVICE' }, { actor: BILLING })],
      ['deleteStatusOverride', () => registry.deleteStatusOverride(REF, { actor: BILLING })],
    ];
    for (const [name, write] of writes) {
      const e = denied(write);
      expect(e.message, name).toContain('instance o-1 of DEFAULT_GROUP@@orders in namespace public was registered by orders; billing may not change it');
      expect(registry.getInstance(REF).record, name).toBe(before);
    }
  });

  it('lets the registrant and an admin do every write; an admin keeps the registrant', () => {
    const { registry, clock } = setup();
    registry.renew(REF, { actor: ORDERS });
    registry.setStatus({ ...REF, status: 'OUT_OF_SERVICE' }, { actor: ADMIN });
    registry.deleteStatusOverride(REF, { actor: ORDERS });
    clock.advance(1);
    registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1', ip: '10.0.0.9' }) }, { actor: ADMIN });
    expect(registry.getInstance(REF).record).toMatchObject({ ip: '10.0.0.9', registrant: 'orders' });
    registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1', ip: '10.0.0.8' }) }, { actor: ORDERS });
    registry.cancel(REF, { actor: ADMIN });
    expect(registry.hasInstance(REF)).toBe(false);
  });

  it('lets anyone with write claim an unowned instance (registered without authentication); the first identity keeps it', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) });
    expect(registry.getInstance(REF).record.registrant).toBe('');
    registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) }, { actor: BILLING });
    expect(registry.getInstance(REF).record.registrant).toBe('billing');
    denied(() => registry.renew(REF, { actor: ORDERS }));
  });

  it('does not check writes without an actor (replication, auth off)', () => {
    const { registry } = setup();
    registry.renew(REF, { replication: true });
    registry.setStatus({ ...REF, status: 'DOWN' });
    registry.cancel(REF, { replication: true });
    expect(registry.hasInstance(REF)).toBe(false);
  });

  it('a new registration after a cancel belongs to the new registrant', () => {
    const { registry } = setup();
    registry.cancel(REF, { actor: ORDERS });
    registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) }, { actor: BILLING });
    expect(registry.getInstance(REF).record.registrant).toBe('billing');
  });

  it('keeps the registrant of a peer copy and of an adopted instance', () => {
    const a = setup().registry;
    const { registry: b } = makeRegistry();
    const { record } = a.getInstance(REF);
    expect(b.applyReplica(REF, record, 0).kind).toBe('adopted');
    expect(b.getInstance(REF).record.registrant).toBe('orders');
    denied(() => b.cancel(REF, { actor: BILLING }));
    const { registry: c } = makeRegistry();
    c.adopt(REF, record);
    expect(c.getInstance(REF).record.registrant).toBe('orders');
    // A metadata update (Eureka's) registers the instance as it is: the registrant stays.
    c.register(registrationOf(REF, { ...record, metadata: { zone: 'a' } }), { actor: ORDERS });
    expect(c.getInstance(REF).record).toMatchObject({ registrant: 'orders', metadata: { zone: 'a' } });
  });
});
