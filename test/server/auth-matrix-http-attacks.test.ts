/**
 * The attacks of issue #12 over HTTP, each by name on a real node with the matrix's users: a Nacos
 * deregistration of an instance registered over gRPC, another team's writes through Nacos and
 * Eureka (the registrant rule: 403), and UDP push targets, which only an authorized pull (Nacos
 * list or gRPC GetService with a UDP port) may create.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { GetServiceRequest, RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { basic, GRPC_OK, PASSWORDS, PAYMENTS, STOCK, unary, useMatrixNode, type MatrixNode } from '../support/auth-matrix.js';
import { eurekaInstanceInfo } from '../support/eureka.js';
import { eventually, onCleanup, record } from '../support/server.js';
import { udpClient } from '../support/udp-client.js';

/**
 * A Subscribe stream as admin on a service, so a change there would be pushed (and counted); `close`
 * waits until the node has let it go, so the next test's snapshots hold still.
 */
function watch(n: MatrixNode, service: string) {
  const t = new RegistryTransport(`127.0.0.1:${n.server.port}`, { security: { token: n.tokens.admin ?? '' } });
  onCleanup(() => {
    t.close();
  });
  const pushes = record(t.subscribe(SubscribeRequest.fromPartial({ service })));
  const close = async (): Promise<void> => {
    pushes.stop();
    t.close();
    await eventually(() => n.server.stats().streams === 0, 'the Subscribe stream closed on the node');
  };
  return { pushes, close };
}

const registrantRule = (id: string, service: string) =>
  `instance ${id} of DEFAULT_GROUP@@${service} in namespace public was registered by writer; rival may not change it (only its registrant or an admin of namespace public may)`;

describe('HTTP: the attacks of issue #12 fail', () => {
  const node = useMatrixNode({ auth: true });

  it('a Nacos DELETE /nacos/v1/ns/instance does not remove an instance registered over gRPC (403), unless by its registrant', async () => {
    const n = node();
    n.seed();
    const md = n.metadata(`Bearer ${n.tokens.writer ?? ''}`);
    const registered = await unary(n.grpc.registry.register.bind(n.grpc.registry), RegisterRequest.fromPartial({ service: 'inventory', instance: { ip: '10.0.0.50', port: 9000 } }), md);
    expect(registered.outcome).toEqual(GRPC_OK);
    const id = '10.0.0.50#9000#DEFAULT#DEFAULT_GROUP@@inventory';
    const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'inventory', instanceId: id };
    expect(n.server.registry.getInstance(ref).record.registrant).toBe('writer');
    const { pushes, close } = watch(n, 'inventory');
    await pushes.until((v) => v.hosts.length === 1, 'the first snapshot');
    const deregister = { serviceName: 'inventory', ip: '10.0.0.50', port: '9000' };
    for (const [credentials, reason] of [
      [{}, 'authentication required: write on namespace public needs credentials'],
      [{ accessToken: n.tokens.reader ?? '' }, 'reader lacks write permission on namespace public'],
      [{ username: 'other', password: PASSWORDS.other }, 'other lacks write permission on namespace public'],
      [{ username: 'rival', password: PASSWORDS.rival }, registrantRule(id, 'inventory')],
    ] as const) {
      const answer = await n.witness.unchangedBy(() => n.http('DELETE', '/nacos/v1/ns/instance', { query: { ...deregister, ...credentials } }));
      expect(answer).toEqual({ status: 403, text: `caused: ${reason};`, challenge: null });
    }
    expect(pushes.values.every((v) => v.hosts.length === 1)).toBe(true);
    // Its registrant may.
    expect((await n.http('DELETE', '/nacos/v1/ns/instance', { query: { ...deregister, username: 'writer', password: PASSWORDS.writer } })).status).toBe(200);
    await pushes.until((v) => v.hosts.length === 0, 'the deregistration pushed');
    await close();
  });

  it('another team’s writer cannot re-register, beat, cancel or override the writer’s instances through Nacos or Eureka (403)', async () => {
    const n = node();
    const rival = { username: 'rival', password: PASSWORDS.rival };
    const eurekaRival = { authorization: basic('rival', PASSWORDS.rival) };
    const stock = { serviceName: 'stock', ip: STOCK.ip, port: String(STOCK.port) };
    const attempts: readonly (readonly [string, () => Promise<unknown>, unknown])[] = [
      ['Nacos register', () => n.http('POST', '/nacos/v1/ns/instance', { query: { ...stock, weight: '9', ...rival } }), nacos403(STOCK.instanceId, 'stock')],
      ['Nacos beat', () => n.http('PUT', '/nacos/v1/ns/instance/beat', { query: { ...stock, ...rival } }), nacos403(STOCK.instanceId, 'stock')],
      ['Nacos deregister', () => n.http('DELETE', '/nacos/v1/ns/instance', { query: { ...stock, ...rival } }), nacos403(STOCK.instanceId, 'stock')],
      [
        'Eureka register',
        () => n.http('POST', '/eureka/apps/PAYMENTS', { headers: eurekaRival, body: { instance: eurekaInstanceInfo('PAYMENTS', 'p-1', { ipAddr: '6.6.6.6' }) } }),
        eureka403(),
      ],
      ['Eureka cancel', () => n.http('DELETE', '/eureka/apps/PAYMENTS/p-1', { headers: eurekaRival }), eureka403()],
      ['Eureka status', () => n.http('PUT', '/eureka/apps/PAYMENTS/p-1/status', { headers: eurekaRival, query: { value: 'OUT_OF_SERVICE' } }), eureka403()],
      ['Eureka metadata', () => n.http('PUT', '/eureka/apps/PAYMENTS/p-1/metadata', { headers: eurekaRival, query: { owner: 'rival' } }), eureka403()],
    ];
    for (const [what, attempt, expected] of attempts) {
      n.seed();
      const answer = await n.witness.unchangedBy(attempt);
      expect({ what, answer }).toEqual({ what, answer: expected });
    }
  });
});

function nacos403(id: string, service: string) {
  return { status: 403, text: `caused: ${registrantRule(id, service)};`, challenge: null };
}

function eureka403() {
  return { status: 403, text: registrantRule(PAYMENTS.instanceId, PAYMENTS.service), challenge: null };
}

describe('UDP push targets come only from authorized pulls', () => {
  const node = useMatrixNode({ auth: true });

  it('a Nacos list with udpPort by an unauthorized caller adds no target; by a reader it does, and changes are pushed there', async () => {
    const n = node();
    n.seed();
    const client = await udpClient();
    const list = (credentials: Record<string, string>) =>
      n.http('GET', '/nacos/v1/ns/instance/list', { query: { serviceName: 'stock', udpPort: String(client.port), clientIP: '127.0.0.1', ...credentials } });
    for (const [credentials, status] of [
      [{}, 403],
      [{ accessToken: 'not-a-token-anyone-was-given' }, 403],
      [{ username: 'other', password: PASSWORDS.other }, 403],
    ] as const) {
      expect((await n.witness.unchangedBy(() => list(credentials))).status).toBe(status);
    }
    expect(n.server.udp?.stats().targets).toBe(0);
    expect(client.packets).toEqual([]);
    expect((await list({ accessToken: n.tokens.reader ?? '' })).status).toBe(200);
    expect(n.server.udp?.stats().targets).toBe(1);
    n.server.registry.register({ ...STOCK, instance: { ip: STOCK.ip, port: STOCK.port, cluster: 'DEFAULT', weight: 7 } }, { actor: { name: 'writer', admin: false } });
    await client.until((ps) => ps.some((p) => p.info.name === 'DEFAULT_GROUP@@stock' && p.info.hosts.length === 1), 'the change pushed to the authorized target');
  });

  it('a gRPC GetService with udp_port by an unauthorized caller adds no target; by a reader it does', async () => {
    const n = node();
    n.seed();
    const targets = n.server.udp?.stats().targets ?? 0;
    const get = (authorization: string | undefined) =>
      unary(n.grpc.registry.getService.bind(n.grpc.registry), GetServiceRequest.fromPartial({ service: 'stock', udpPort: 40_001 }), n.metadata(authorization));
    for (const [authorization, code] of [
      [undefined, GrpcStatus.UNAUTHENTICATED],
      ['Bearer not-a-token-anyone-was-given', GrpcStatus.UNAUTHENTICATED],
      [`Bearer ${n.tokens.other ?? ''}`, GrpcStatus.PERMISSION_DENIED],
    ] as const) {
      expect((await n.witness.unchangedBy(() => get(authorization))).outcome.code).toBe(code);
    }
    expect(n.server.udp?.stats().targets).toBe(targets);
    expect((await get(`Bearer ${n.tokens.reader ?? ''}`)).outcome).toEqual(GRPC_OK);
    expect(n.server.udp?.stats().targets).toBe(targets + 1);
  });
});
