import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/core/errors.js';
import { WriteCounts } from '../../../src/server/metrics/write-counts.js';
import { inst, makeRegistry } from '../../core/helpers.js';

describe('WriteCounts', () => {
  it("counts a transport's registrations, renews and cancels by outcome, and leaves everything else of the registry as it was", () => {
    const { registry } = makeRegistry();
    const counts = new WriteCounts();
    const grpc = counts.counted(registry, 'grpc');
    const { record } = grpc.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) });
    grpc.renew({ service: 'orders', instanceId: 'o-1' });
    expect(() => grpc.renew({ service: 'orders', instanceId: 'nobody' })).toThrow(RegistryError);
    expect(() => grpc.register({ service: 'orders', instance: inst({ ip: '' }) })).toThrow(RegistryError);
    grpc.cancel({ service: 'orders', instanceId: 'o-1' });
    // Reads and properties pass through to the registry itself.
    expect(grpc.query({ service: 'orders' }).hosts).toEqual([]);
    expect(grpc.options).toBe(registry.options);
    expect(record.instanceId).toBe('o-1');
    expect(counts.snapshot()).toEqual([
      { kind: 'register', transport: 'grpc', outcome: 'ok', count: 1 },
      { kind: 'register', transport: 'grpc', outcome: 'invalid', count: 1 },
      { kind: 'renew', transport: 'grpc', outcome: 'ok', count: 1 },
      { kind: 'renew', transport: 'grpc', outcome: 'not_found', count: 1 },
      { kind: 'cancel', transport: 'grpc', outcome: 'ok', count: 1 },
    ]);
  });

  it("counts a write whose context says it is a replication (Eureka's peers) as the peer's, and a peer's replica writes by how they merged", () => {
    const { registry } = makeRegistry();
    const counts = new WriteCounts();
    const eureka = counts.counted(registry, 'eureka');
    eureka.register({ service: 'pay', instance: inst({ instanceId: 'p-1' }) }, { replication: true });
    eureka.register({ service: 'pay', instance: inst({ instanceId: 'p-2' }) });
    const peer = counts.counted(registry, 'peer');
    expect(peer.renewReplica({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'pay', instanceId: 'ghost' }, 1, 0).kind).toBe('unknown');
    expect(counts.snapshot()).toEqual([
      { kind: 'register', transport: 'eureka', outcome: 'ok', count: 1 },
      { kind: 'register', transport: 'peer', outcome: 'ok', count: 1 },
      { kind: 'renew', transport: 'peer', outcome: 'not_found', count: 1 },
    ]);
  });
});
