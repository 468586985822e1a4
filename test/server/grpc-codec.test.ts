import { describe, expect, it } from 'vitest';
import { GetServiceResponse, SubscribeResponse } from '../../src/gen/herald/v1/registry_service.js';
import { ServiceInfo } from '../../src/gen/herald/v1/model.js';
import { serviceInfoToWire, SnapshotFrames } from '../../src/server/grpc-codec.js';

const frames = new SnapshotFrames();
const snapshotFrame = (view: Parameters<SnapshotFrames['frame']>[0]): Buffer => frames.frame(view);
import { inst, makeRegistry } from '../core/helpers.js';

describe('snapshot frames (encode once per view)', () => {
  function registryWithHosts(n: number) {
    const { registry, clock } = makeRegistry();
    for (let i = 0; i < n; i++) {
      registry.register({ service: 's', instance: inst({ instanceId: `i-${String(i).padStart(4, '0')}`, port: 1 + i, metadata: { k: `v${i}` }, weight: i % 3 }) });
    }
    return { registry, clock };
  }

  it('returns the same bytes for the same view, and new bytes after a change', () => {
    const { registry } = registryWithHosts(50);
    const view = registry.query({ service: 's' });
    const a = snapshotFrame(view);
    expect(snapshotFrame(registry.query({ service: 's' }))).toBe(a);
    registry.register({ service: 's', instance: inst({ instanceId: 'new' }) });
    expect(snapshotFrame(registry.query({ service: 's' }))).not.toBe(a);
  });

  it('decodes as both GetServiceResponse and SubscribeResponse, equal to a full ts-proto encoding', () => {
    const { registry } = registryWithHosts(200);
    registry.updateService({ service: 's', protectThreshold: 0.5 });
    for (const view of [registry.query({ service: 's' }), registry.query({ service: 's' }, { healthyOnly: true, clusters: ['DEFAULT'] }), registry.query({ service: 'none' })]) {
      const frame = snapshotFrame(view);
      const expected = serviceInfoToWire(view);
      expect(GetServiceResponse.decode(frame).serviceInfo).toEqual(expected);
      expect(SubscribeResponse.decode(frame).serviceInfo).toEqual(expected);
      // Same content as encoding the whole message in one go (only field order may differ).
      expect(ServiceInfo.decode(ServiceInfo.encode(expected).finish())).toEqual(GetServiceResponse.decode(frame).serviceInfo);
    }
  });

  it('re-encodes only changed instances: unchanged records reuse their bytes', () => {
    const { registry } = registryWithHosts(3);
    const before = snapshotFrame(registry.query({ service: 's' }));
    registry.register({ service: 's', instance: inst({ instanceId: 'i-0001', port: 2, metadata: { k: 'changed' }, weight: 1 }) });
    const after = snapshotFrame(registry.query({ service: 's' }));
    const hostsBefore = GetServiceResponse.decode(before).serviceInfo?.hosts ?? [];
    const hostsAfter = GetServiceResponse.decode(after).serviceInfo?.hosts ?? [];
    expect(hostsAfter[0]).toEqual(hostsBefore[0]);
    expect(hostsAfter[1]?.metadata).toEqual({ k: 'changed' });
    expect(hostsAfter[2]).toEqual(hostsBefore[2]);
  });
});

describe('snapshot frames across changes (host bytes taken from the previous frame)', () => {
  it('stay equal to a full encoding through adds, removals, changes and filters', () => {
    const frames = new SnapshotFrames();
    const { registry, clock } = makeRegistry();
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const filters = [{}, { healthyOnly: true }, { clusters: ['east'] }];
    for (let step = 0; step < 300; step++) {
      clock.advance(1);
      const id = `i-${String(rnd(40)).padStart(2, '0')}`;
      const op = rnd(4);
      if (op === 0 && registry.hasInstance({ service: 's', instanceId: id })) registry.cancel({ service: 's', instanceId: id });
      else if (op === 1 && registry.hasInstance({ service: 's', instanceId: id })) registry.setStatus({ service: 's', instanceId: id, status: rnd(2) === 0 ? 'DOWN' : 'UP' });
      else registry.register({ service: 's', instance: inst({ instanceId: id, port: 1 + rnd(3), cluster: rnd(2) === 0 ? 'east' : 'west', metadata: { k: `v${rnd(3)}` } }) });
      const filter = filters[rnd(filters.length)] ?? {};
      const view = registry.query({ service: 's' }, filter);
      expect(GetServiceResponse.decode(frames.frame(view)).serviceInfo).toEqual(serviceInfoToWire(view));
    }
  });
});
