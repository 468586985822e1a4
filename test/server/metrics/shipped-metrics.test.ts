/**
 * /metrics, /livez and /readyz as `herald serve` ships them: the real process with its defaults,
 * driven over gRPC and the Nacos HTTP API, its metrics moving with what was done, and the whole
 * exposition accepted by Prometheus's own `promtool check metrics`.
 */
import { readFileSync } from 'node:fs';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CancelRequest, RegisterRequest, RenewRequest, SubscribeRequest } from '../../../src/gen/herald/v1/registry_service.js';
import { serve } from '../../support/cli.js';
import { prometheusMissing, promtoolCheckMetrics } from '../../support/prometheus.js';
import { connect, record } from '../../support/server.js';

/** The value of every sample in an exposition, by `name{labels}` as printed. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const missing = prometheusMissing();

describe('metrics and probes on the shipped composition', () => {
  it('counts what gRPC and Nacos clients did, by transport and outcome, with the probes up; promtool accepts the exposition', async () => {
    const node = await serve();
    const http = Number(/"http":"[^"]*:(\d+)"/.exec(await node.line(/herald is serving/, 'stderr'))?.[1]);
    const url = (path: string): string => `http://127.0.0.1:${http}${path}`;
    const grpc = connect(node.port);
    const pushes = record(grpc.subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await pushes.until((s) => s.hosts.length === 0, 'the first snapshot');
    for (const id of ['o-1', 'o-2']) await grpc.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: id, ip: '10.0.0.1', port: 80 } }));
    await grpc.renew(RenewRequest.fromPartial({ service: 'orders', instanceId: 'o-1' }));
    const unknown = await grpc.renew(RenewRequest.fromPartial({ service: 'orders', instanceId: 'nobody' })).then(
      () => undefined,
      (e: unknown) => e as ServiceError,
    );
    expect(unknown?.code).toBe(GrpcStatus.NOT_FOUND);
    await grpc.cancel(CancelRequest.fromPartial({ service: 'orders', instanceId: 'o-2' }));
    await pushes.until((s) => s.hosts.length === 1, 'o-2 cancelled');
    const nacos = 'serviceName=stock&ip=10.0.0.7&port=8080';
    expect(await (await fetch(url(`/nacos/v1/ns/instance?${nacos}`), { method: 'POST' })).text()).toBe('ok');
    expect((await fetch(url(`/nacos/v1/ns/instance/beat?${nacos}`), { method: 'PUT' })).status).toBe(200);
    expect(await (await fetch(url(`/nacos/v1/ns/instance?${nacos}`), { method: 'DELETE' })).text()).toBe('ok');

    const live = await fetch(url('/livez'));
    expect([live.status, await live.text()]).toEqual([200, 'ok\n']);
    const ready = await fetch(url('/readyz'));
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);

    const res = await fetch(url('/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = samples(text);
    expect({
      grpcRegistrations: m.get('herald_registrations_total{transport="grpc",outcome="ok"}'),
      grpcRenews: m.get('herald_renews_total{transport="grpc",outcome="ok"}'),
      grpcUnknownRenews: m.get('herald_renews_total{transport="grpc",outcome="not_found"}'),
      grpcCancels: m.get('herald_cancels_total{transport="grpc",outcome="ok"}'),
      nacosRegistrations: m.get('herald_registrations_total{transport="nacos",outcome="ok"}'),
      nacosRenews: m.get('herald_renews_total{transport="nacos",outcome="ok"}'),
      nacosCancels: m.get('herald_cancels_total{transport="nacos",outcome="ok"}'),
      instances: m.get('herald_instances{namespace="public"}'),
      healthy: m.get('herald_instances_healthy{namespace="public"}'),
      streams: m.get('herald_subscriber_streams'),
      ready: m.get('herald_ready'),
      registerCalls: m.get('herald_request_duration_seconds_count{transport="grpc",method="herald.v1.RegistryService/Register",code="OK"}'),
      unknownRenewCalls: m.get('herald_request_duration_seconds_count{transport="grpc",method="herald.v1.RegistryService/Renew",code="NOT_FOUND"}'),
      nacosRegisterCalls: m.get('herald_request_duration_seconds_count{transport="http",method="POST /nacos/v1/ns/instance",code="200"}'),
    }).toEqual({
      grpcRegistrations: 2,
      grpcRenews: 1,
      grpcUnknownRenews: 1,
      grpcCancels: 1,
      nacosRegistrations: 1,
      nacosRenews: 1,
      nacosCancels: 1,
      instances: 1,
      healthy: 1,
      streams: 1,
      ready: 1,
      registerCalls: 2,
      unknownRenewCalls: 1,
      nacosRegisterCalls: 1,
    });
    // The subscriber saw three changes pushed (two registrations, one cancel; some may have merged).
    expect(m.get('herald_push_deliveries_total')).toBeGreaterThanOrEqual(2);
    expect(m.get('herald_push_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(m.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toMatch(/o-1|10\.0\.0\.7/); // never an instance's id or address in a label

    // docs/operations.md lists every herald metric the node serves.
    const documented = readFileSync('docs/operations.md', 'utf8');
    const served = [...text.matchAll(/^# TYPE (herald_\w+) /gm)].map((x) => x[1] ?? '');
    expect(served.length).toBeGreaterThan(30);
    expect(served.filter((name) => !documented.includes(`\`${name}\``) && !documented.includes(`\`${name}{`))).toEqual([]);

    if (missing === undefined) {
      const check = await promtoolCheckMetrics(text);
      expect(check, check.output).toMatchObject({ code: 0 });
    }
  });

  it('serves the probes and /metrics with both HTTP APIs off, and nothing of them with --metrics off but the probes', async () => {
    const only = await serve(['--nacos-api', 'off', '--eureka-api', 'off']);
    const http = Number(/"http":"[^"]*:(\d+)"/.exec(await only.line(/herald is serving/, 'stderr'))?.[1]);
    expect((await fetch(`http://127.0.0.1:${http}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${http}/nacos/v1/ns/instance/list?serviceName=x`)).status).toBe(404);
    const off = await serve(['--metrics', 'off']);
    const http2 = Number(/"http":"[^"]*:(\d+)"/.exec(await off.line(/herald is serving/, 'stderr'))?.[1]);
    expect((await fetch(`http://127.0.0.1:${http2}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${http2}/readyz`)).status).toBe(200);
  });
});
