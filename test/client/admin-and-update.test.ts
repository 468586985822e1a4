import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { createRegistryClient, DuplicateRegistrationError } from '../../src/client/index.js';
import { advanceTo, FakeServer } from './fake-transport.js';
import { onCleanup } from '../support/server.js';

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const a = new FakeServer('a:1', scheduler);
  const client = createRegistryClient({ servers: ['a:1'], scheduler, random: () => 0.5, transportFactory: () => a });
  onCleanup(async () => {
    const closing = client.close();
    await advanceTo(scheduler, scheduler.now() + 60_000);
    await closing;
  });
  return { scheduler, client, a };
}

const renewals = (a: FakeServer, id: string) => a.calls.filter((c) => c.startsWith(`renew:${id}@`));

describe('RegistrationHandle.update', () => {
  it('re-registers the same instance in place, newer, and the one handle keeps renewing it', async () => {
    const { scheduler, client, a } = setup();
    const handle = client.register({ service: 'orders', instanceId: 'i-1', ip: '10.0.0.1', port: 80, weight: 1, metadata: { v: '1' } });
    await advanceTo(scheduler, 10);
    expect(handle.state.kind).toBe('registered');
    const firstDirty = a.lastDirty.get('i-1') ?? 0;

    const updating = handle.update({ weight: 5, metadata: { v: '2' } });
    await advanceTo(scheduler, 30);
    const instance = await updating;
    expect(instance).toMatchObject({ instanceId: 'i-1', weight: 5, metadata: { v: '2' } });
    expect(a.registered.get('i-1')).toMatchObject({ ip: '10.0.0.1', port: 80, weight: 5, metadata: { v: '2' } });
    expect(a.lastDirty.get('i-1') ?? 0).toBeGreaterThan(firstDirty);
    expect(client.stats().registrations).toBe(1);

    // One heartbeat per interval, from the one handle.
    await advanceTo(scheduler, 100_000);
    expect(renewals(a, 'i-1').length).toBe(3);
  });

  it('rejects once the registration has ended', async () => {
    const { scheduler, client } = setup();
    const handle = client.register({ service: 'orders', instanceId: 'i-1', ip: '10.0.0.1', port: 80 });
    await advanceTo(scheduler, 10);
    const leaving = handle.deregister();
    await advanceTo(scheduler, 30);
    await leaving;
    await expect(handle.update({ weight: 2 })).rejects.toThrow(/has ended \(deregistered\)/);
  });
});

describe('register() of an instance the client already holds', () => {
  it('throws DuplicateRegistrationError for the same id, given or derived, and allows it again after deregister()', async () => {
    const { scheduler, client } = setup();
    const handle = client.register({ service: 'orders', ip: '10.0.0.1', port: 80 });
    expect(() => client.register({ service: 'orders', ip: '10.0.0.1', port: 80, weight: 3 })).toThrow(DuplicateRegistrationError);
    expect(() => client.register({ service: 'orders', ip: '10.0.0.1', port: 80, instanceId: '10.0.0.1#80#DEFAULT#DEFAULT_GROUP@@orders' })).toThrow(
      /already registered by this client; change it with the handle's update\(\)/,
    );
    // Another port, cluster or group is another instance.
    client.register({ service: 'orders', ip: '10.0.0.1', port: 81 });
    client.register({ service: 'orders', ip: '10.0.0.1', port: 80, cluster: 'east' });
    client.register({ service: 'orders', ip: '10.0.0.1', port: 80, group: 'SHOP' });
    expect(client.stats().registrations).toBe(4);
    await advanceTo(scheduler, 10);
    const leaving = handle.deregister();
    await advanceTo(scheduler, 30);
    await leaving;
    expect(() => client.register({ service: 'orders', ip: '10.0.0.1', port: 80 })).not.toThrow();
  });
});

describe('admin calls', () => {
  it('set and delete a status override and replace service settings, through the server list', async () => {
    const { scheduler, client, a } = setup();
    const set = client.setStatus({ service: 'orders', instanceId: 'i-1', status: 'OUT_OF_SERVICE' });
    const cleared = client.deleteStatusOverride({ service: 'orders', instanceId: 'i-1' });
    const settings = client.updateService({ service: 'orders', group: 'SHOP', protectThreshold: 0.5, metadata: { owner: 'team-a' } });
    await advanceTo(scheduler, 10);
    expect(await set).toMatchObject({ instanceId: 'i-1', status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    expect(await cleared).toMatchObject({ instanceId: 'i-1', status: 'UP' });
    expect(await settings).toMatchObject({ namespace: 'public', group: 'SHOP', name: 'orders', protectThreshold: 0.5, metadata: { owner: 'team-a' } });
    expect(a.calls).toEqual(['setStatus:i-1:OUT_OF_SERVICE@0', 'deleteStatusOverride:i-1:@0', 'updateService:SHOP@@orders:0.5@0']);
  });
});
