/**
 * The auth matrix's shared parts: one real node per describe (the matrix's users, a cluster secret
 * if asked, a ManualClock so nothing moves on its own), its canonical registry (`seed`), the
 * callers' credentials, calls answered as exact outcomes, and the witness that a refused call
 * changed nothing (a full registry snapshot, no write or change event, no push but the barrier's).
 */
import { credentials, Metadata, status as GrpcStatus, type CallOptions, type ClientReadableStream, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/core/clock.js';
import type { InstanceRef, ServiceRef, ServiceView } from '../../src/core/model.js';
import { AuthServiceClient } from '../../src/gen/herald/v1/auth_service.js';
import { ClusterServiceClient, PeerServiceClient } from '../../src/gen/herald/v1/peer_service.js';
import { RegistryServiceClient } from '../../src/gen/herald/v1/registry_service.js';
import type { ServerConfig } from '../../src/server/config.js';
import { registrationFromEureka } from '../../src/server/eureka/eureka-params.js';
import { HeraldServer } from '../../src/server/herald-server.js';
import { authFixture, type TestUser } from './auth-fixture.js';
import { eurekaInstanceInfo } from './eureka.js';
import { within } from './server.js';

// ------------------------------------------------------------------ who calls

export const PASSWORDS = { admin: 'admin-pw', writer: 'writer-pw', reader: 'reader-pw', other: 'other-pw', rival: 'rival-pw' } as const;
export type UserName = keyof typeof PASSWORDS;

/** admin of every namespace; writer and rival write `public`; reader reads it; other writes `prod` only. */
export const MATRIX_USERS: readonly TestUser[] = [
  { name: 'admin', password: PASSWORDS.admin, roles: [{ namespace: '*', permission: 'admin' }] },
  { name: 'writer', password: PASSWORDS.writer, roles: [{ namespace: 'public', permission: 'write' }] },
  { name: 'reader', password: PASSWORDS.reader, roles: [{ namespace: 'public', permission: 'read' }] },
  { name: 'other', password: PASSWORDS.other, roles: [{ namespace: 'prod', permission: 'write' }] },
  { name: 'rival', password: PASSWORDS.rival, roles: [{ namespace: 'public', permission: 'write' }] },
];

/** The identities of every row: no credentials, a token nobody was given, then the users. */
export const IDENTITIES = ['anonymous', 'wrong token', 'reader', 'other', 'writer', 'admin'] as const;
export type Identity = (typeof IDENTITIES)[number];

export const CLUSTER_SECRET = 'matrix-cluster-secret';
export const WRONG_TOKEN = 'not-a-token-anyone-was-given';

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

// ------------------------------------------------------------------ the canonical registry

const ref = (namespace: string, service: string, instanceId: string): InstanceRef => ({ namespace, group: 'DEFAULT_GROUP', service, instanceId });

/** The writer's gRPC instance in `public`. */
export const ORDERS = ref('public', 'orders', 'o-1');
/** The other team's instance in `prod`, with a secret in its metadata. */
export const DB = ref('prod', 'db', 'db-1');
export const DB_PASSWORD = 'hunter2';
/** The writer's Eureka app instance. */
export const PAYMENTS = ref('public', 'PAYMENTS', 'p-1');
/** The writer's Nacos instance (Nacos's id: ip#port#cluster#group@@service). */
export const STOCK = { ...ref('public', 'stock', '10.0.0.7#8080#DEFAULT#DEFAULT_GROUP@@stock'), ip: '10.0.0.7', port: 8080 } as const;
/** Where the witness's barrier lives (never a row's target). */
const BARRIER = ref('public', 'matrix-barrier', 'b-1');

const WATCHED: readonly ServiceRef[] = [ORDERS, DB, PAYMENTS, STOCK];

// ------------------------------------------------------------------ outcomes

export interface GrpcOutcome {
  readonly code: GrpcStatus;
  readonly details: string;
}
export const GRPC_OK: GrpcOutcome = Object.freeze({ code: GrpcStatus.OK, details: '' });

export type Unary<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: Res) => void) => ClientUnaryCall;

const deadline = (): Partial<CallOptions> => ({ deadline: Date.now() + 10_000 });

/** A unary call's status (OK or the error's code and details) and its answer. */
export function unary<Req, Res>(method: Unary<Req, Res>, req: Req, md: Metadata): Promise<{ outcome: GrpcOutcome; value: Res | undefined }> {
  return new Promise((resolve) => {
    method(req, md, deadline(), (e, value) => {
      if (e) resolve({ outcome: { code: e.code, details: e.details }, value: undefined });
      else resolve({ outcome: GRPC_OK, value });
    });
  });
}

/**
 * A server stream's status and messages: `first` stops at the first message (a Subscribe: admitted),
 * else it reads to the end (a SyncRegistry).
 */
export function stream<Res>(open: () => ClientReadableStream<Res>, first: boolean): Promise<{ outcome: GrpcOutcome; values: Res[] }> {
  return new Promise((resolve) => {
    const call = open();
    const values: Res[] = [];
    let settled = false;
    const settle = (outcome: GrpcOutcome): void => {
      if (settled) return;
      settled = true;
      resolve({ outcome, values });
    };
    call.on('data', (m: Res) => {
      values.push(m);
      if (first) {
        settle(GRPC_OK);
        call.cancel();
      }
    });
    call.on('error', (e: ServiceError) => {
      settle({ code: e.code, details: e.details });
    });
    call.on('status', (s: { code: GrpcStatus }) => {
      if (s.code === GrpcStatus.OK) settle(GRPC_OK);
    });
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  /** The WWW-Authenticate header, if any. */
  readonly challenge: string | null;
}

export interface HttpRequest {
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body. */
  readonly body?: unknown;
  /** A form body (as Nacos clients send). */
  readonly form?: Readonly<Record<string, string>>;
  /** An XML body (as Java Eureka clients send). */
  readonly xml?: string;
}

// ------------------------------------------------------------------ the node

export interface MatrixNode {
  readonly server: HeraldServer;
  readonly clock: ManualClock;
  /** Each user's static token (none with auth off). */
  readonly tokens: Readonly<Record<string, string>>;
  readonly witness: Witness;
  readonly grpc: { registry: RegistryServiceClient; peer: PeerServiceClient; cluster: ClusterServiceClient; auth: AuthServiceClient };
  /** Metadata carrying `authorization` (a Bearer value for a user name, or the value itself) and the cluster secret. */
  metadata(authorization?: string, secret?: string): Metadata;
  /** The `authorization` value of an identity (undefined for anonymous). */
  bearerOf(who: Identity): string | undefined;
  /** An HTTP call to the node's HTTP port. */
  http(method: string, path: string, req?: HttpRequest): Promise<HttpAnswer>;
  /** Puts the canonical registry back: the four instances, each registered by its owner, and no service settings. */
  seed(): void;
}

export interface MatrixOptions {
  /** Authentication on (the matrix's users) or off (the default config). */
  readonly auth: boolean;
  readonly clusterSecret?: string;
  readonly config?: Partial<ServerConfig>;
}

/** A node for the enclosing describe: started before its tests, closed after them. */
export function useMatrixNode(options: MatrixOptions): () => MatrixNode {
  let node: MatrixNode | undefined;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    node = await startMatrixNode(options, (fn) => cleanups.push(fn));
  });
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()?.();
  });
  return () => {
    if (node === undefined) throw new Error('the matrix node did not start');
    return node;
  };
}

async function startMatrixNode(options: MatrixOptions, cleanup: (fn: () => unknown) => void): Promise<MatrixNode> {
  const auth = options.auth ? await authFixture(MATRIX_USERS, [], cleanup) : undefined;
  const clock = new ManualClock(1_700_000_000_000);
  const server = await HeraldServer.start({
    logger: silentLogger,
    clock,
    config: { host: '127.0.0.1', port: 0, httpPort: 0, authFile: auth?.path, clusterSecret: options.clusterSecret, ...options.config },
  });
  cleanup(() => server.close());
  const address = `127.0.0.1:${server.port}`;
  const insecure = credentials.createInsecure();
  const grpc = {
    registry: new RegistryServiceClient(address, insecure),
    peer: new PeerServiceClient(address, insecure),
    cluster: new ClusterServiceClient(address, insecure),
    auth: new AuthServiceClient(address, insecure),
  };
  cleanup(() => {
    for (const c of Object.values(grpc)) c.close();
  });
  const tokens = auth?.tokens ?? {};
  const witness = new Witness(server);
  cleanup(() => {
    witness.close();
  });
  const actor = (name: string) => (options.auth ? { actor: { name, admin: false } } : {});
  return {
    server,
    clock,
    tokens,
    witness,
    grpc,
    metadata: (authorization, secret) => {
      const md = new Metadata();
      if (authorization !== undefined) md.set('authorization', authorization);
      if (secret !== undefined) md.set('x-herald-cluster-secret', secret);
      return md;
    },
    bearerOf: (who) => {
      if (who === 'anonymous') return undefined;
      if (who === 'wrong token') return `Bearer ${WRONG_TOKEN}`;
      return `Bearer ${tokens[who] ?? ''}`;
    },
    http: async (method, path, req = {}) => {
      const query = req.query === undefined ? '' : `?${new URLSearchParams(req.query).toString()}`;
      const body =
        req.form !== undefined
          ? { type: 'application/x-www-form-urlencoded', text: new URLSearchParams(req.form).toString() }
          : req.xml !== undefined
            ? { type: 'application/xml', text: req.xml }
            : req.body !== undefined
              ? { type: 'application/json', text: JSON.stringify(req.body) }
              : undefined;
      const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}${path}${query}`, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': body.type }), ...req.headers },
        ...(body === undefined ? {} : { body: body.text }),
      });
      return { status: res.status, text: await res.text(), challenge: res.headers.get('www-authenticate') };
    },
    seed: () => {
      const r = server.registry;
      for (const e of [...r.replicaEntries()]) {
        if (e.service !== BARRIER.service) r.cancel({ namespace: e.namespace, group: e.group, service: e.service, instanceId: e.record.instanceId });
      }
      for (const namespace of r.namespaceNames()) {
        for (const s of r.listServices({ namespace, pageSize: 1000 }).services) {
          if (s.protectThreshold !== 0 || Object.keys(s.metadata).length > 0) r.updateService({ namespace, group: s.group, service: s.name, protectThreshold: 0, metadata: {} });
        }
      }
      r.register({ ...ORDERS, instance: { instanceId: ORDERS.instanceId, ip: '10.0.0.1', port: 8080, metadata: { team: 'orders' } } }, actor('writer'));
      r.register({ ...DB, instance: { instanceId: DB.instanceId, ip: '10.1.0.1', port: 5432, metadata: { dbPassword: DB_PASSWORD } } }, actor('other'));
      r.register(registrationFromEureka('PAYMENTS', { instance: eurekaInstanceInfo('PAYMENTS', PAYMENTS.instanceId) }, 'public'), actor('writer'));
      r.register({ ...STOCK, instance: { ip: STOCK.ip, port: STOCK.port, cluster: 'DEFAULT' } }, actor('writer'));
    },
  };
}

/** An access token from Nacos's login (POST /nacos/v1/auth/login, a form body). */
export async function nacosLogin(n: MatrixNode, user: UserName): Promise<string> {
  const r = await n.http('POST', '/nacos/v1/auth/login', { form: { username: user, password: PASSWORDS[user] } });
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { accessToken: string }).accessToken;
}

// ------------------------------------------------------------------ the witness

/**
 * Everything a call could have changed, as plain data: every namespace's registry, service settings
 * and recent changes, every lease's last renewal, tombstones, counters, subscribers and UDP push
 * targets. (Not the HTTP routes' request counters: a write the registrant rule refuses was served.)
 */
export function snapshot(server: HeraldServer): unknown {
  const r = server.registry;
  const namespaces = r.namespaceNames().map((namespace) => ({
    namespace,
    registry: r.fetchRegistry(namespace),
    services: r.listServices({ namespace, pageSize: 1000 }).services,
    changes: r.fetchDelta(namespace).changes,
  }));
  const leases = [...r.replicaEntries()].map((e) => `${e.namespace}/${e.service}/${e.record.instanceId} renewed ${e.lastRenewalMs}`);
  const state = {
    namespaces,
    leases,
    tombstones: r.tombstoneList(),
    stats: r.stats(),
    push: server.stats(),
    udpTargets: server.udp?.stats().targets,
  };
  return JSON.parse(JSON.stringify(state)) as unknown;
}

/**
 * Watches a node: counts the registry's write and change events, keeps a push target on each
 * service a row touches (so a change there would be pushed), and a barrier service: settling
 * changes the barrier until its push is seen with no other push waiting in the hub (a lone change
 * is pushed on the leading edge of its window, so the barrier can overtake a trailing push).
 */
export class Witness {
  private writes = 0;
  private changes = 0;
  private barriers = 0;
  /** Barrier pushes seen. */
  private barrierPushes = 0;
  private lastBarrier = '';
  private readonly waiters = new Set<() => void>();
  private readonly stops: (() => void)[] = [];

  constructor(private readonly server: HeraldServer) {
    this.stops.push(
      server.registry.onWrite(() => this.writes++),
      server.registry.onServiceChanged(() => this.changes++),
    );
    for (const service of WATCHED) this.stops.push(server.hub.subscribe(service, { filter: {}, deliver: () => undefined }));
    this.stops.push(
      server.hub.subscribe(BARRIER, {
        filter: {},
        deliver: (view: ServiceView) => {
          this.lastBarrier = view.hosts[0]?.metadata.barrier ?? '';
          this.barrierPushes++;
          for (const w of [...this.waiters]) w();
        },
      }),
    );
  }

  /** Resolves once every push due so far has gone out. */
  async settle(): Promise<void> {
    do await this.barrier();
    while (!this.server.hub.idle());
  }

  /** Changes the barrier and waits for its push. */
  private async barrier(): Promise<void> {
    const n = String(++this.barriers);
    this.server.registry.register({ ...BARRIER, instance: { instanceId: BARRIER.instanceId, ip: '10.9.9.9', port: 1, metadata: { barrier: n } } });
    let waiter: (() => void) | undefined;
    const pushed = new Promise<void>((resolve) => {
      waiter = () => {
        if (this.lastBarrier === n) resolve();
      };
      this.waiters.add(waiter);
      waiter();
    });
    try {
      await within(pushed, `the barrier push ${n}`);
    } finally {
      if (waiter !== undefined) this.waiters.delete(waiter);
    }
  }

  /**
   * Runs a call that must be refused and checks it changed nothing: the same snapshot before and
   * after, no write or change event during it, and no push afterwards but the barrier's own.
   */
  async unchangedBy<T>(call: () => Promise<T>): Promise<T> {
    await this.settle();
    const before = snapshot(this.server);
    const writes = this.writes;
    const changes = this.changes;
    const delivered = this.server.hub.delivered;
    const barrierPushes = this.barrierPushes;
    const result = await call();
    expect({ writes: this.writes - writes, changes: this.changes - changes }, 'registry events during a refused call').toEqual({ writes: 0, changes: 0 });
    expect(snapshot(this.server), 'the registry after a refused call').toEqual(before);
    await this.settle();
    expect(this.server.hub.delivered - delivered - (this.barrierPushes - barrierPushes), 'pushes after a refused call, but the barrier’s').toBe(0);
    return result;
  }

  close(): void {
    for (const stop of this.stops) stop();
  }
}
