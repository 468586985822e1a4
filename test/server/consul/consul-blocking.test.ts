import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { RegistryError } from '../../../src/core/errors.js';
import { PushHub } from '../../../src/push/push-hub.js';
import { BlockingQueries, indexOf } from '../../../src/server/consul/consul-blocking.js';
import { inst, makeRegistry } from '../../core/helpers.js';
import { ManualTimers } from '../../support/manual-timers.js';

function setup(maxWaiters = 2) {
  const { registry, clock } = makeRegistry();
  const timers = new ManualTimers(clock);
  const hub = new PushHub({ registry, timers, clock, mergeWindowMs: 0, fanOutSliceSize: 100, logger: silentLogger });
  const blocking = new BlockingQueries({ hub, registry, timers, maxWaiters });
  const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'web' };
  const index = (): number => indexOf(registry.query(ref).revision);
  return { registry, timers, blocking, ref, index };
}

/** Whether a promise has settled, after the pending continuations ran. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('Consul blocking queries', () => {
  it('holds a query at the current index until the service changes (delivered by the hub), then frees it', async () => {
    const { registry, timers, blocking, ref, index } = setup();
    registry.register({ service: 'web', instance: inst({ instanceId: 'a' }) });
    const waiting = blocking.waitService(ref, index(), 60_000, new AbortController().signal);
    expect(await settled(waiting)).toBe(false);
    expect(blocking.held).toBe(1);
    registry.register({ service: 'web', instance: inst({ instanceId: 'b', port: 2 }) });
    timers.advance(0);
    expect(await settled(waiting)).toBe(true);
    expect(blocking.held).toBe(0);
    expect(timers.pending).toBe(0);
  });

  it('answers at once when the index already differs, and after the wait when nothing changes', async () => {
    const { registry, timers, blocking, ref, index } = setup();
    registry.register({ service: 'web', instance: inst({ instanceId: 'a' }) });
    expect(await settled(blocking.waitService(ref, index() - 1, 60_000, new AbortController().signal))).toBe(true);
    const waiting = blocking.waitService(ref, index(), 5_000, new AbortController().signal);
    timers.advance(4_999);
    expect(await settled(waiting)).toBe(false);
    timers.advance(1);
    expect(await settled(waiting)).toBe(true);
    expect(blocking.held).toBe(0);
  });

  it('frees the waiter of a closed connection, and refuses beyond the bound with LIMIT_EXCEEDED', async () => {
    const { registry, blocking, ref, index } = setup(2);
    registry.register({ service: 'web', instance: inst({ instanceId: 'a' }) });
    const closed = new AbortController();
    const one = blocking.waitService(ref, index(), 60_000, closed.signal);
    void blocking.waitService(ref, index(), 60_000, new AbortController().signal);
    expect(() => blocking.waitService(ref, index(), 60_000, new AbortController().signal)).toThrow(RegistryError);
    closed.abort();
    expect(await settled(one)).toBe(true);
    expect(blocking.held).toBe(1);
    void blocking.waitService(ref, index(), 60_000, new AbortController().signal);
    expect(blocking.held).toBe(2);
  });

  it('a query of an invalid service name is refused and holds no place', async () => {
    const { blocking } = setup(1);
    await expect(blocking.waitService({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'bad name!' }, 5, 60_000, new AbortController().signal)).rejects.toThrow(
      RegistryError,
    );
    expect(blocking.held).toBe(0);
  });

  it('holds a catalog query until any service of the namespace changes', async () => {
    const { registry, blocking } = setup();
    let current = 7;
    const waiting = blocking.waitCatalog('public', 7, () => current, 60_000, new AbortController().signal);
    registry.register({ namespace: 'other', service: 'x', instance: inst() });
    expect(await settled(waiting)).toBe(false);
    registry.register({ service: 'web', instance: inst() });
    current = 8;
    expect(await settled(waiting)).toBe(true);
    expect(blocking.newestRevision('public')).toBeGreaterThan(0);
    blocking.close();
  });
});
