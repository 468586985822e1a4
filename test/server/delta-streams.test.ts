/**
 * Subscribe with deltas, resume, Watch and KeepAlive over real sockets on the server as it runs by
 * default (real clock, timers and randomness), through the generated stubs a user would take.
 */
import { credentials, Metadata, status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DeltaFollower } from '../../src/client/delta-follower.js';
import { InstanceView, type ServiceInfo } from '../../src/gen/herald/v1/model.js';
import {
  GetServiceRequest,
  type GetServiceResponse,
  RegisterRequest,
  RegistryServiceClient,
  SubscribeRequest,
  type KeepAliveRequest,
  type KeepAliveResponse,
  type SubscribeResponse,
  type WatchRequest,
  type WatchResponse,
} from '../../src/gen/herald/v1/registry_service.js';
import { authFixture } from '../support/auth-fixture.js';
import { eventually, hostIds, onCleanup, record, startServer } from '../support/server.js';

function stub(port: number, token?: string): RegistryServiceClient {
  const c = new RegistryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  onCleanup(() => {
    c.close();
  });
  if (token !== undefined) {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return new Proxy(c, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'watch' || prop === 'keepAlive') return () => (v as (m: Metadata) => unknown).call(target, md);
        if (prop === 'register')
          return (req: RegisterRequest, cb: (e: ServiceError | null) => void) =>
            (v as (r: RegisterRequest, m: Metadata, cb: (e: ServiceError | null) => void) => unknown).call(target, req, md, cb);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
  return c;
}

const unary = <Req, Res>(fn: (req: Req, cb: (e: ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> =>
  new Promise((resolve, reject) => {
    fn(req, (e, r) => {
      if (e) reject(e);
      else resolve(r);
    });
  });

const reg = (service: string, instanceId: string, port = 8080): RegisterRequest =>
  RegisterRequest.fromPartial({ service, instance: { instanceId, ip: '10.0.0.1', port, metadata: { zone: 'a' } } });

/** A Subscribe stream's messages, raw, and the service they lead to. */
function subscribe(c: RegistryServiceClient, req: Partial<SubscribeRequest>, resumeFrom?: ServiceInfo) {
  const follower = new DeltaFollower(resumeFrom);
  const messages = new Subject<{ raw: SubscribeResponse; state: ServiceInfo }>();
  const errors = new Subject<ServiceError>();
  const call = c.subscribe(SubscribeRequest.fromPartial(req));
  call.on('data', (raw: SubscribeResponse) => {
    messages.next({ raw, state: follower.accept(raw) });
  });
  call.on('error', (e: ServiceError) => {
    errors.next(e);
  });
  onCleanup(() => {
    call.cancel();
  });
  return { call, messages: record(messages), errors: record(errors) };
}

describe('Subscribe with deltas', () => {
  it('sends the snapshot, then only what changed, each leading to the state GetService gives', async () => {
    const server = await startServer();
    const c = stub(server.port);
    for (let i = 0; i < 20; i++) await unary(c.register.bind(c), reg('orders', `i-${String(i).padStart(2, '0')}`, 9000 + i));
    const s = subscribe(c, { service: 'orders', deltas: true });
    const first = await s.messages.until(() => true, 'the snapshot');
    expect(first.raw.serviceInfo?.hosts).toHaveLength(20);
    expect(first.raw.delta).toBeUndefined();

    await unary(c.register.bind(c), reg('orders', 'i-new', 9999));
    const added = await s.messages.until((m) => hostIds(m.state).includes('i-new'), 'the registration');
    expect(added.raw.serviceInfo).toBeUndefined();
    expect(added.raw.delta?.upserted.map((h) => h.instanceId)).toEqual(['i-new']);
    expect(added.raw.delta?.removed).toEqual([]);
    expect(added.raw.delta?.fromRevision).toBe(first.state.revision);

    await unary(c.cancel.bind(c), { namespace: '', group: '', service: 'orders', instanceId: 'i-03' });
    const removed = await s.messages.until((m) => !hostIds(m.state).includes('i-03'), 'the cancel');
    expect(removed.raw.delta?.upserted).toEqual([]);
    expect(removed.raw.delta?.removed).toEqual(['i-03']);

    const pulled = await unary<GetServiceRequest, GetServiceResponse>(c.getService.bind(c), GetServiceRequest.fromPartial({ service: 'orders' }));
    expect(removed.state).toEqual(pulled.serviceInfo);
  });

  it('resumes: nothing new when nothing changed, only the change when one did, a snapshot when the server cannot tell', async () => {
    const server = await startServer();
    const c = stub(server.port);
    await unary(c.register.bind(c), reg('orders', 'a'));
    const s1 = subscribe(c, { service: 'orders', deltas: true });
    const held = (await s1.messages.until(() => true, 'the snapshot')).state;
    s1.call.cancel();

    const same = subscribe(c, { service: 'orders', deltas: true, resumeRevision: held.revision, resumeChecksum: held.checksum }, held);
    const nothing = await same.messages.until(() => true, 'the resumed state');
    expect(nothing.raw.serviceInfo).toBeUndefined();
    expect(nothing.raw.delta).toMatchObject({ fromRevision: held.revision, upserted: [], removed: [] });
    expect(nothing.state.hosts).toEqual(held.hosts);
    same.call.cancel();

    await unary(c.register.bind(c), reg('orders', 'b'));
    const changed = subscribe(c, { service: 'orders', deltas: true, resumeRevision: held.revision, resumeChecksum: held.checksum }, held);
    const delta = await changed.messages.until(() => true, 'the resumed state');
    expect(delta.raw.delta?.upserted.map((h) => h.instanceId)).toEqual(['b']);
    expect(hostIds(delta.state)).toEqual(['a', 'b']);

    const unknown = subscribe(c, { service: 'orders', deltas: true, resumeRevision: 1, resumeChecksum: 'not-a-checksum' });
    const snapshot = await unknown.messages.until(() => true, 'the first message');
    expect(hostIds(snapshot.raw.serviceInfo as ServiceInfo)).toEqual(['a', 'b']);
    expect(server.stats().resumed).toEqual({ unchanged: 1, delta: 1, snapshot: 1 });
  });

  it('refuses a resume point without deltas or without its checksum, naming the field', async () => {
    const server = await startServer();
    const c = stub(server.port);
    const noDeltas = subscribe(c, { service: 'orders', resumeRevision: 5, resumeChecksum: 'x' });
    expect(await noDeltas.errors.until(() => true, 'the refusal')).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, details: 'resume_revision requires deltas' });
    const noChecksum = subscribe(c, { service: 'orders', deltas: true, resumeRevision: 5 });
    expect(await noChecksum.errors.until(() => true, 'the refusal')).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'resume_checksum is required with resume_revision',
    });
    expect(server.stats().streams).toBe(0);
  });

  it('the basic view leaves the lease out of snapshots and deltas, with the same checksum; an unknown view is refused naming the field', async () => {
    const server = await startServer();
    const c = stub(server.port);
    await unary(c.register.bind(c), reg('orders', 'a'));
    const get = (view: InstanceView) => unary<GetServiceRequest, GetServiceResponse>(c.getService.bind(c), GetServiceRequest.fromPartial({ service: 'orders', view }));
    const full = (await get(InstanceView.INSTANCE_VIEW_FULL)).serviceInfo as ServiceInfo;
    const basic = (await get(InstanceView.INSTANCE_VIEW_BASIC)).serviceInfo as ServiceInfo;
    expect(full.hosts[0]?.lease?.durationMs).toBe(90_000);
    expect(basic.hosts[0]?.lease).toBeUndefined();
    expect(basic.hosts.map((h) => ({ ...h, lease: undefined }))).toEqual(full.hosts.map((h) => ({ ...h, lease: undefined })));
    expect(basic.checksum).toBe(full.checksum);

    const s = subscribe(c, { service: 'orders', deltas: true, view: InstanceView.INSTANCE_VIEW_BASIC });
    await s.messages.until(() => true, 'the snapshot');
    await unary(c.register.bind(c), reg('orders', 'b'));
    const delta = await s.messages.until((m) => m.raw.delta !== undefined, 'the delta');
    expect(delta.raw.delta?.upserted.map((h) => [h.instanceId, h.lease])).toEqual([['b', undefined]]);

    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- a value the contract does not define, on purpose
    await expect(get(7 as InstanceView)).rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, details: 'view must be INSTANCE_VIEW_FULL or INSTANCE_VIEW_BASIC (got 7)' });
    const w = watch(c);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- a value the contract does not define, on purpose
    w.add(1, 'orders', { view: 7 as InstanceView });
    expect(await w.responses.until((r) => r.watchId === 1, 'the refusal')).toMatchObject({
      canceled: true,
      errorCode: GrpcStatus.INVALID_ARGUMENT,
      errorMessage: 'add.view must be INSTANCE_VIEW_FULL or INSTANCE_VIEW_BASIC (got 7)',
    });
  });

  it('pushes a lone change without waiting for the merge window', async () => {
    // A window far longer than the wait limit: only the leading edge can deliver in time.
    const server = await startServer({ mergeWindowMs: 60_000 });
    const c = stub(server.port);
    const s = subscribe(c, { service: 'orders', deltas: true });
    await s.messages.until(() => true, 'the snapshot');
    await unary(c.register.bind(c), reg('orders', 'a'));
    await s.messages.until((m) => hostIds(m.state).includes('a'), 'the registration, pushed at once');
  });
});

/** A Watch stream: what it received per watch id, and a way to write. */
function watch(c: RegistryServiceClient) {
  const call: ClientDuplexStream<WatchRequest, WatchResponse> = c.watch();
  const responses = new Subject<WatchResponse>();
  const followers = new Map<number, DeltaFollower>();
  const states = new Map<number, ServiceInfo>();
  call.on('data', (r: WatchResponse) => {
    if (!r.canceled) {
      let f = followers.get(r.watchId);
      if (f === undefined) {
        f = new DeltaFollower();
        followers.set(r.watchId, f);
      }
      states.set(r.watchId, f.accept(r));
    }
    responses.next(r);
  });
  call.on('error', () => undefined);
  onCleanup(() => {
    call.cancel();
  });
  const add = (watchId: number, service: string, extra: Partial<NonNullable<WatchRequest['add']>> = {}): void => {
    call.write({
      add: {
        watchId,
        namespace: '',
        group: '',
        service,
        clusters: [],
        healthyOnly: false,
        resumeRevision: 0,
        resumeChecksum: '',
        view: InstanceView.INSTANCE_VIEW_UNSPECIFIED,
        ...extra,
      },
    });
  };
  return { call, responses: record(responses), states, add, remove: (watchId: number) => call.write({ remove: { watchId } }) };
}

describe('Watch', () => {
  it('follows many services on one stream: tagged snapshots, then deltas of the service that changed only; remove ends one watch', async () => {
    const server = await startServer();
    const c = stub(server.port);
    await unary(c.register.bind(c), reg('orders', 'o1'));
    await unary(c.register.bind(c), reg('users', 'u1'));
    const w = watch(c);
    w.add(1, 'orders');
    w.add(2, 'users');
    await w.responses.until(() => w.states.size === 2, 'both snapshots');
    expect(hostIds(w.states.get(1) as ServiceInfo)).toEqual(['o1']);
    expect(hostIds(w.states.get(2) as ServiceInfo)).toEqual(['u1']);
    const before = w.responses.values.length;
    await unary(c.register.bind(c), reg('users', 'u2'));
    const delta = await w.responses.until((r) => r.watchId === 2 && r.delta !== undefined, 'the users delta');
    expect(delta.delta?.upserted.map((h) => h.instanceId)).toEqual(['u2']);
    expect(hostIds(w.states.get(2) as ServiceInfo)).toEqual(['u1', 'u2']);
    expect(w.responses.values.slice(before).filter((r) => r.watchId === 1)).toEqual([]);
    expect(server.stats().streams).toBe(2);

    w.remove(1);
    expect(await w.responses.until((r) => r.watchId === 1 && r.canceled, 'the removal')).toMatchObject({ errorCode: 0 });
    expect(server.stats().streams).toBe(1);
    w.call.cancel();
    await eventually(() => server.stats().streams === 0, 'the watches closed with the stream');
  });

  it('refuses one bad watch with its code and message and goes on with the others', async () => {
    const server = await startServer();
    const c = stub(server.port);
    const w = watch(c);
    w.add(1, '');
    expect(await w.responses.until((r) => r.watchId === 1, 'the refusal')).toMatchObject({
      canceled: true,
      errorCode: GrpcStatus.INVALID_ARGUMENT,
      errorMessage: 'service is required',
    });
    w.add(2, 'orders');
    w.add(2, 'orders');
    expect(await w.responses.until((r) => r.watchId === 2 && r.canceled, 'the duplicate refused')).toMatchObject({
      errorCode: GrpcStatus.INVALID_ARGUMENT,
      errorMessage: 'add.watch_id 2 is already open on this stream',
    });
    w.add(3, 'orders', { resumeRevision: 9 });
    expect(await w.responses.until((r) => r.watchId === 3, 'the refusal')).toMatchObject({
      canceled: true,
      errorMessage: 'add.resume_checksum is required with add.resume_revision',
    });
    w.add(4, 'orders');
    await w.responses.until(() => w.states.has(4), 'a good watch still opens');
  });

  it('when the server shuts down, the stream ends once with UNAVAILABLE, whatever the number of watches', async () => {
    const server = await startServer();
    const w = watch(stub(server.port));
    const errors = new Subject<ServiceError>();
    w.call.on('error', (e: ServiceError) => {
      errors.next(e);
    });
    const statuses = record(errors);
    for (const id of [1, 2, 3]) w.add(id, `svc-${id}`);
    await w.responses.until(() => w.states.size === 3, 'three snapshots');
    await server.close();
    expect(await statuses.until(() => true, 'the status')).toMatchObject({ code: GrpcStatus.UNAVAILABLE, details: 'server is shutting down' });
    expect(statuses.values).toHaveLength(1);
  });

  it('counts each watch against the stream limits', async () => {
    const server = await startServer({ maxSubscribeStreamsPerConnection: 2 });
    const w = watch(stub(server.port));
    for (const id of [1, 2, 3]) w.add(id, 'orders');
    expect(await w.responses.until((r) => r.watchId === 3, 'the third')).toMatchObject({ canceled: true, errorCode: GrpcStatus.RESOURCE_EXHAUSTED });
  });

  it('with auth on, a watch on a namespace the caller may not read is refused; an auth reload that takes the right away ends it', async () => {
    const auth = await authFixture([{ name: 'reader', roles: [{ namespace: 'public', permission: 'read' }] }]);
    const server = await startServer({ authFile: auth.path, reloadIntervalMs: 50 });
    const w = watch(stub(server.port, auth.tokens.reader));
    w.add(1, 'orders');
    w.add(2, 'orders', { namespace: 'secret' });
    await w.responses.until(() => w.states.has(1), 'the allowed watch');
    expect(await w.responses.until((r) => r.watchId === 2, 'the refusal')).toMatchObject({ canceled: true, errorCode: GrpcStatus.PERMISSION_DENIED });
    await auth.rewrite([{ name: 'reader', roles: [{ namespace: 'other', permission: 'read' }] }]);
    expect(await w.responses.until((r) => r.watchId === 1 && r.canceled, 'the watch ended at the reload')).toMatchObject({ errorCode: GrpcStatus.PERMISSION_DENIED });
  });
});

/** A KeepAlive stream with a promise per request. */
function keepAlive(c: RegistryServiceClient) {
  const call: ClientDuplexStream<KeepAliveRequest, KeepAliveResponse> = c.keepAlive();
  const responses = new Subject<KeepAliveResponse>();
  const errors = new Subject<ServiceError>();
  call.on('data', (r: KeepAliveResponse) => {
    responses.next(r);
  });
  call.on('error', (e: ServiceError) => {
    errors.next(e);
  });
  onCleanup(() => {
    call.cancel();
  });
  const rec = record(responses);
  return {
    call,
    errors: record(errors),
    renew: async (tag: number, instanceId: string, service = 'orders'): Promise<KeepAliveResponse> => {
      call.write({ tag, namespace: '', group: '', service, instanceId, lastDirtyTimestamp: 0 });
      return rec.until((r) => r.tag === tag, `the answer to ${tag}`);
    },
  };
}

describe('KeepAlive', () => {
  it('renews many leases on one stream; NOT_FOUND is an answer, not the end of the stream', async () => {
    const server = await startServer();
    const c = stub(server.port);
    await unary(c.register.bind(c), reg('orders', 'a'));
    await unary(c.register.bind(c), reg('orders', 'b'));
    const k = keepAlive(c);
    const a = await k.renew(1, 'a');
    expect(a).toMatchObject({ tag: 1, code: 0, message: '', renewalIntervalMs: 30_000 });
    expect(a.leaseExpiresAt).toBeGreaterThan(Date.now());
    expect(await k.renew(2, 'nobody')).toMatchObject({ tag: 2, code: GrpcStatus.NOT_FOUND, leaseExpiresAt: 0 });
    expect(await k.renew(3, 'b')).toMatchObject({ tag: 3, code: 0 });
    expect(await k.renew(4, 'a', '')).toMatchObject({ tag: 4, code: GrpcStatus.INVALID_ARGUMENT, message: 'service is required' });
  });

  it('keeps instances registered past their lease on the shipped eviction loop, and closing the stream removes nothing', async () => {
    const server = await startServer({ evictionIntervalMs: 100 });
    const c = stub(server.port);
    await unary(
      c.register.bind(c),
      RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'a', ip: '10.0.0.1', port: 80, lease: { durationMs: 1_000, renewalIntervalMs: 200 } } }),
    );
    await unary(
      c.register.bind(c),
      RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'gone', ip: '10.0.0.2', port: 80, lease: { durationMs: 1_000, renewalIntervalMs: 200 } } }),
    );
    const k = keepAlive(c);
    let tag = 0;
    // Renew `a` until `gone`, never renewed, is evicted: `a` has outlived its 1 s lease by then.
    while (server.registry.query({ service: 'orders' }).hosts.some((h) => h.instanceId === 'gone')) {
      expect(await k.renew(++tag, 'a')).toMatchObject({ code: 0 });
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(server.registry.query({ service: 'orders' }).hosts.map((h) => h.instanceId)).toEqual(['a']);
    k.call.cancel();
    expect(server.registry.query({ service: 'orders' }).hosts.map((h) => h.instanceId)).toEqual(['a']);
  });

  it("with auth on: a caller without write gets PERMISSION_DENIED per renewal; another user cannot renew the registrant's instance", async () => {
    const auth = await authFixture([
      { name: 'owner', roles: [{ namespace: 'public', permission: 'write' }] },
      { name: 'other', roles: [{ namespace: 'public', permission: 'write' }] },
      { name: 'reader', roles: [{ namespace: 'public', permission: 'read' }] },
    ]);
    const server = await startServer({ authFile: auth.path });
    const owner = stub(server.port, auth.tokens.owner);
    await unary(owner.register.bind(owner), reg('orders', 'a'));
    expect(await keepAlive(stub(server.port, auth.tokens.owner)).renew(1, 'a')).toMatchObject({ code: 0 });
    expect(await keepAlive(stub(server.port, auth.tokens.reader)).renew(1, 'a')).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    expect(await keepAlive(stub(server.port, auth.tokens.other)).renew(1, 'a')).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    // No credentials: anonymous, who has no role here.
    expect(await keepAlive(stub(server.port)).renew(1, 'a')).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    // Wrong credentials are refused, never taken as anonymous: the stream ends.
    const wrong = keepAlive(stub(server.port, 'not-a-token'));
    wrong.call.write({ tag: 1, namespace: '', group: '', service: 'orders', instanceId: 'a', lastDirtyTimestamp: 0 });
    expect(await wrong.errors.until(() => true, 'the refusal')).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
  });
});
