import { describe, expect, it } from 'vitest';
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { ManualClock } from '../../src/core/clock.js';
import { connect, record, startServer } from '../support/server.js';

async function nacos(port: number, method: string, path: string, params: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/nacos/v1/ns${path}?${new URLSearchParams(params).toString()}`, { method });
  return { status: res.status, text: await res.text() };
}

describe('Nacos v1 open API', () => {
  it('registers, lists in Nacos shape, and deregisters', async () => {
    const server = await startServer();
    const port = server.httpPort ?? 0;
    const r = await nacos(port, 'POST', '/instance', {
      serviceName: 'DEFAULT_GROUP@@orders',
      groupName: 'DEFAULT_GROUP',
      ip: '10.0.0.7',
      port: '8080',
      weight: '2',
      enable: 'true',
      healthy: 'true',
      ephemeral: 'true',
      clusterName: 'east',
      metadata: JSON.stringify({ version: '1.2' }),
    });
    expect(r).toEqual({ status: 200, text: 'ok' });
    const list = await nacos(port, 'GET', '/instance/list', { serviceName: 'DEFAULT_GROUP@@orders', clusters: 'east', healthyOnly: 'false' });
    const info = JSON.parse(list.text) as Record<string, unknown> & { hosts: Record<string, unknown>[] };
    expect(info).toMatchObject({ name: 'DEFAULT_GROUP@@orders', groupName: 'DEFAULT_GROUP', clusters: 'east', valid: true, allIPs: false, cacheMillis: 5_000 });
    expect(info.hosts).toEqual([
      expect.objectContaining({
        instanceId: '10.0.0.7#8080#east#DEFAULT_GROUP@@orders',
        ip: '10.0.0.7',
        port: 8080,
        weight: 2,
        healthy: true,
        enabled: true,
        ephemeral: true,
        clusterName: 'east',
        serviceName: 'DEFAULT_GROUP@@orders',
        metadata: { version: '1.2' },
        instanceHeartBeatInterval: 5_000,
        instanceHeartBeatTimeOut: 15_000,
        ipDeleteTimeout: 30_000,
      }),
    ]);
    // A plain service name with groupName works too, and k=v metadata.
    await nacos(port, 'POST', '/instance', { serviceName: 'billing', groupName: 'PAY', ip: '10.0.0.8', port: '1', metadata: 'a=1,b=2' });
    expect(server.registry.query({ group: 'PAY', service: 'billing' }).hosts[0]?.metadata).toEqual({ a: '1', b: '2' });
    expect(await nacos(port, 'DELETE', '/instance', { serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.0.7', port: '8080', clusterName: 'east' })).toEqual({ status: 200, text: 'ok' });
    expect(server.registry.query({ service: 'orders' }).hosts).toEqual([]);
    // Deregistering again is not an error, as in Nacos.
    expect((await nacos(port, 'DELETE', '/instance', { serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.0.7', port: '8080', clusterName: 'east' })).status).toBe(200);
  });

  it('answers bad parameters with 400 and a message naming the parameter, changing nothing', async () => {
    const server = await startServer();
    const port = server.httpPort ?? 0;
    expect(await nacos(port, 'POST', '/instance', { ip: '10.0.0.1', port: '1' })).toEqual({ status: 400, text: "caused: Param 'serviceName' is required.;" });
    expect(await nacos(port, 'POST', '/instance', { serviceName: 's', port: '1' })).toEqual({ status: 400, text: "caused: Param 'ip' is required.;" });
    expect(await nacos(port, 'POST', '/instance', { serviceName: 's', ip: '10.0.0.1', port: '99999' })).toEqual({
      status: 400,
      text: 'caused: port must be between 1 and 65535 (got 99999);',
    });
    expect(await nacos(port, 'POST', '/instance', { serviceName: 's', ip: 'not an ip', port: '1' })).toEqual({
      status: 400,
      text: 'caused: ip "not an ip" is not an IPv4 or IPv6 address or a host name;',
    });
    expect((await nacos(port, 'POST', '/instance', { serviceName: 's', ip: '10.0.0.1', port: '1', healthy: 'maybe' })).text).toBe(
      'caused: healthy must be true or false (got "maybe");',
    );
    expect((await nacos(port, 'POST', '/instance', { serviceName: 's', ip: '10.0.0.1', port: '1', metadata: '{oops' })).status).toBe(400);
    expect((await nacos(port, 'GET', '/instance/list', {})).text).toBe("caused: Param 'serviceName' is required.;");
    expect(server.registry.stats().instances).toBe(0);
  });

  it('beats renew, answer clientBeatInterval, and re-create an unknown instance from the beat', async () => {
    const server = await startServer();
    const port = server.httpPort ?? 0;
    const beat = JSON.stringify({ serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.0.9', port: 9, cluster: 'DEFAULT', weight: 3, metadata: { v: '1' }, scheduled: false });
    // Unknown instance: registered from the beat (the server restarted, or it was evicted).
    const first = await nacos(port, 'PUT', '/instance/beat', { serviceName: 'DEFAULT_GROUP@@orders', beat });
    expect(JSON.parse(first.text)).toEqual({ clientBeatInterval: 5_000, code: 10200, lightBeatEnabled: false });
    expect(server.registry.query({ service: 'orders' }).hosts[0]).toMatchObject({ ip: '10.0.0.9', weight: 3, metadata: { v: '1' } });
    const second = await nacos(port, 'PUT', '/instance/beat', { serviceName: 'DEFAULT_GROUP@@orders', beat });
    expect(JSON.parse(second.text)).toMatchObject({ code: 10200 });
    // A light beat (no body) for an unknown instance: Nacos's 20404.
    const light = await nacos(port, 'PUT', '/instance/beat', { serviceName: 'DEFAULT_GROUP@@orders', ip: '10.9.9.9', port: '1' });
    expect(JSON.parse(light.text)).toMatchObject({ code: 20404 });
  });

  it('lists services of a group in pages, and reports metrics', async () => {
    const server = await startServer();
    const port = server.httpPort ?? 0;
    for (const s of ['c', 'a', 'b']) await nacos(port, 'POST', '/instance', { serviceName: s, ip: '10.0.0.1', port: '1' });
    expect(JSON.parse((await nacos(port, 'GET', '/service/list', { pageNo: '1', pageSize: '2' })).text)).toEqual({ count: 3, doms: ['a', 'b'] });
    expect(JSON.parse((await nacos(port, 'GET', '/service/list', { pageNo: '2', pageSize: '2' })).text)).toEqual({ count: 3, doms: ['c'] });
    const metrics = JSON.parse((await nacos(port, 'GET', '/operator/metrics', {})).text) as Record<string, unknown>;
    expect(metrics).toMatchObject({ status: 'UP', serviceCount: 3, instanceCount: 3 });
  });

  it('a Nacos-registered instance reaches gRPC subscribers, and turns unhealthy then leaves without beats', async () => {
    // Nacos's own timing (unhealthy 15 s, removed 30 s after the last beat) on the server's clock,
    // which the test moves; the beat check runs on its real timer.
    const clock = new ManualClock(Date.now());
    const server = await startServer({ mergeWindowMs: 1, heartbeatCheckIntervalMs: 50, registry: { selfPreservation: false } }, { clock });
    const pushes = record(connect(server).subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await nacos(server.httpPort ?? 0, 'POST', '/instance', { serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.0.7', port: '80' });
    await pushes.until((v) => v.hosts[0]?.healthy === true, 'pushed healthy');
    clock.advance(15_001);
    await pushes.until((v) => v.hosts[0]?.healthy === false, 'unhealthy after the beat timeout (15 s)');
    clock.advance(15_000);
    await pushes.until((v) => v.hosts.length === 0, 'removed after the delete timeout (30 s)');
  });
});
