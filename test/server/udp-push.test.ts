import { describe, expect, it } from 'vitest';
import { GetServiceRequest, RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { ManualClock } from '../../src/core/clock.js';
import { connect, eventually, recordingLogger, startServer } from '../support/server.js';
import { udpClient } from '../support/udp-client.js';

const reg = (service: string, id: string, metadata: Record<string, string> = {}) =>
  RegisterRequest.fromPartial({ service, instance: { instanceId: id, ip: '10.0.0.1', port: 80, metadata } });
const pull = (service: string, udpPort: number, clusters: string[] = []) => GetServiceRequest.fromPartial({ service, udpPort, clusters });

describe('UDP push', () => {
  it('a pull with a UDP port makes the caller a target: changes arrive as acked "dom" packets', async () => {
    const server = await startServer({ mergeWindowMs: 1, udpAckTimeoutMs: 200 });
    const c = connect(server);
    const udp = await udpClient();
    await c.getService(pull('orders', udp.port));
    expect(server.udp?.stats().targets).toBe(1);
    await c.register(reg('orders', 'i-1', { zone: 'a' }));
    await udp.until((ps) => ps.length === 1, 'push');
    const p = udp.packets[0];
    expect(p?.gzipped).toBe(false);
    expect(p?.packet.type).toBe('dom');
    expect(typeof p?.packet.data).toBe('string');
    expect(p?.info).toMatchObject({ name: 'DEFAULT_GROUP@@orders', clusters: '', hosts: [{ instanceId: 'i-1', ip: '10.0.0.1', healthy: true }] });
    expect(p?.packet.lastRefTime).toBe(p?.info.revision);
    // The server counts the ack when it arrives; nothing else announces it.
    await eventually(() => server.udp?.stats().acked === 1, 'ack processed');
    expect(server.udp?.stats()).toMatchObject({ sent: 1, resent: 0, failed: 0, pendingAcks: 0 });
  });

  it('resends an unacked push a bounded number of times, then counts it failed; string acks work too', async () => {
    const log = recordingLogger();
    const server = await startServer({ mergeWindowMs: 1, udpAckTimeoutMs: 40, udpMaxRetries: 2 }, { logger: log.logger });
    const c = connect(server);
    const silent = await udpClient({ ack: 'none' });
    const stringy = await udpClient({ ack: 'string' });
    await c.getService(pull('orders', silent.port));
    await c.getService(pull('orders', stringy.port));
    await c.register(reg('orders', 'i-1'));
    await log.lines.until((l) => l.message === 'udp push not acknowledged', 'failed after retries');
    expect(silent.packets).toHaveLength(3); // the push and 2 resends
    expect(new Set(silent.packets.map((p) => p.packet.lastRefTime)).size).toBe(1);
    expect(stringy.packets).toHaveLength(1);
    expect(server.udp?.stats()).toMatchObject({ sent: 2, resent: 2, acked: 1, failed: 1, pendingAcks: 0 });
  });

  it('a newer push replaces an unacked older one instead of retrying stale data', async () => {
    const server = await startServer({ mergeWindowMs: 1, udpAckTimeoutMs: 10_000, udpMaxRetries: 5 });
    const c = connect(server);
    const silent = await udpClient({ ack: 'none' });
    await c.getService(pull('orders', silent.port));
    await c.register(reg('orders', 'i-1'));
    await silent.until((ps) => ps.length === 1, 'first push');
    await c.register(reg('orders', 'i-2'));
    await silent.until((ps) => ps.length === 2, 'second push');
    expect(server.udp?.stats()).toMatchObject({ pendingAcks: 1, superseded: 1, failed: 0 });
  });

  it('drops a target that stopped pulling; it receives nothing more while a refreshed one does', async () => {
    // Targets expire on the server's clock, which the test moves.
    const clock = new ManualClock(Date.now());
    const server = await startServer({ mergeWindowMs: 1, udpTargetExpiryMs: 300 }, { clock });
    const c = connect(server);
    const stale = await udpClient();
    const fresh = await udpClient();
    await c.getService(pull('orders', stale.port));
    await c.getService(pull('orders', fresh.port));
    clock.advance(200);
    await c.getService(pull('orders', fresh.port)); // refreshed: 300 ms more from now
    clock.advance(200); // the stale target's 300 ms are over, the fresh one's are not
    server.udp?.sweep();
    expect(server.udp?.stats()).toMatchObject({ targets: 1, expiredTargets: 1 });
    await c.register(reg('orders', 'i-1'));
    await fresh.until((ps) => ps.length === 1, 'fresh target pushed');
    expect(stale.packets).toEqual([]);
  });

  it('gzips packets of 1 KiB or more, and they decode', async () => {
    const server = await startServer({ mergeWindowMs: 50 });
    const c = connect(server);
    const udp = await udpClient();
    await c.getService(pull('big', udp.port));
    await Promise.all(Array.from({ length: 40 }, (_, i) => c.register(reg('big', `i-${i}`, { note: 'x'.repeat(50) }))));
    await udp.until((ps) => ps.at(-1)?.info.hosts.length === 40, 'all hosts pushed');
    const last = udp.packets.at(-1);
    expect(last?.gzipped).toBe(true);
    expect(last?.raw.length).toBeLessThan(JSON.stringify(last?.packet).length);
  });

  it('never pushes an empty host list, and merges a burst into few packets', async () => {
    const server = await startServer({ mergeWindowMs: 100 });
    const c = connect(server);
    const udp = await udpClient();
    await c.getService(pull('orders', udp.port));
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.register(reg('orders', `i-${i}`))));
    await udp.until((ps) => ps.at(-1)?.info.hosts.length === 10, 'burst pushed');
    expect(udp.packets.length).toBeLessThanOrEqual(2);
    for (let i = 0; i < 10; i++) await c.cancel({ namespace: '', group: '', service: 'orders', instanceId: `i-${i}` });
    await c.register(reg('orders', 'back'));
    await udp.until((ps) => ps.at(-1)?.info.hosts[0]?.instanceId === 'back', 'pushed again');
    expect(udp.packets.every((p) => p.info.hosts.length > 0)).toBe(true);
  });

  it('pushes per filter: a target pulling one cluster is not told about another', async () => {
    const server = await startServer({ mergeWindowMs: 1 });
    const c = connect(server);
    const east = await udpClient();
    await c.getService(pull('orders', east.port, ['east']));
    await c.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'w', ip: '10.0.0.1', port: 1, cluster: 'west' } }));
    await c.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'e', ip: '10.0.0.1', port: 2, cluster: 'east' } }));
    await east.until((ps) => ps.length === 1, 'east push');
    expect(east.packets[0]?.info).toMatchObject({ clusters: 'east', hosts: [{ instanceId: 'e' }] });
  });
});
