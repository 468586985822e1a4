/**
 * The registrant transport: the API an instance was registered through, recorded by the core for the
 * console, kept by writes that do not say, and carried to peers with the rest of the instance.
 */
import { describe, expect, it } from 'vitest';
import { registrantTransportOf } from '../../src/core/model.js';
import { copyFromWire, entryToWire } from '../../src/server/peer/peer-codec.js';
import { inst, makeRegistry } from './helpers.js';

const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', instanceId: 'o-1' };

describe('registrant transport', () => {
  it('is recorded at registration and kept by status overrides and by a re-registration that does not name it', () => {
    const { registry } = makeRegistry();
    registry.register({ ...ref, instance: inst({ instanceId: 'o-1' }) }, { transport: 'grpc' });
    expect(registry.getInstance(ref).record.transport).toBe('grpc');
    registry.setStatus({ ...ref, status: 'OUT_OF_SERVICE' });
    expect(registry.getInstance(ref).record.transport).toBe('grpc');
    registry.register({ ...ref, instance: inst({ instanceId: 'o-1', weight: 3 }) });
    expect(registry.getInstance(ref).record).toMatchObject({ weight: 3, transport: 'grpc' });
  });

  it('follows the latest registration that names it, and is empty when nobody said', () => {
    const { registry } = makeRegistry();
    registry.register({ ...ref, instance: inst({ instanceId: 'o-1' }) });
    expect(registry.getInstance(ref).record.transport).toBe('');
    registry.register({ ...ref, instance: inst({ instanceId: 'o-1', weight: 2 }) }, { transport: 'nacos' });
    expect(registry.getInstance(ref).record.transport).toBe('nacos');
  });

  it('travels to peers and comes back as the shared constant; an unknown value becomes empty', () => {
    const { registry } = makeRegistry();
    registry.register({ ...ref, instance: inst({ instanceId: 'o-1' }) }, { transport: 'eureka' });
    const entry = [...registry.replicaEntries()][0];
    if (entry === undefined) throw new Error('no entry');
    const wire = entryToWire(entry);
    expect(wire.transport).toBe('eureka');
    expect(copyFromWire(wire)?.state.transport).toBe('eureka');
    expect(copyFromWire({ ...wire, transport: 'carrier-pigeon' })?.state.transport).toBe('');
    expect(registrantTransportOf('grpc')).toBe('grpc');
  });

  it('is adopted with a replica', () => {
    const a = makeRegistry();
    const b = makeRegistry();
    a.registry.register({ ...ref, instance: inst({ instanceId: 'o-1' }) }, { transport: 'nacos' });
    const entry = [...a.registry.replicaEntries()][0];
    if (entry === undefined) throw new Error('no entry');
    const copy = copyFromWire(entryToWire(entry));
    if (copy === undefined) throw new Error('no copy');
    b.registry.applyReplica(copy.address, copy.state, copy.lastRenewalMs);
    expect(b.registry.getInstance(ref).record.transport).toBe('nacos');
  });
});
