/**
 * The auth matrix over gRPC (issue #12): every RegistryService method (Watch and KeepAlive too, whose
 * refusals per watch or per renewal are messages, not statuses) and the xDS ADS stream × every caller, on a real
 * node with the matrix's users, with the exact status and details of each cell, and for each
 * refusal the witness's proof that nothing changed; then the gRPC attacks by name, the
 * services open to everyone, and each method served as before with auth off.
 */
import { credentials, status as GrpcStatus, type ClientDuplexStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Permission } from '../../src/auth/permissions.js';
import { InstanceStatus, InstanceView, type ServiceInfo } from '../../src/gen/herald/v1/model.js';
import {
  CancelRequest,
  DeleteStatusOverrideRequest,
  FetchDeltaRequest,
  FetchRegistryRequest,
  GetInstanceRequest,
  GetServiceRequest,
  ListServicesRequest,
  RegisterRequest,
  RenewRequest,
  SetStatusRequest,
  SubscribeRequest,
  UpdateServiceRequest,
  type KeepAliveResponse,
  type SubscribeResponse,
  type WatchResponse,
} from '../../src/gen/herald/v1/registry_service.js';
import {
  basic,
  DB,
  DB_PASSWORD,
  GRPC_OK,
  IDENTITIES,
  ORDERS,
  PASSWORDS,
  stream,
  unary,
  useMatrixNode,
  type GrpcOutcome,
  type Identity,
  type MatrixNode,
} from '../support/auth-matrix.js';
import { AggregatedDiscoveryServiceClient } from '../../src/gen/xds/envoy/service/discovery/v3/ads.js';
import { DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/server/xds/xds-codec.js';
import { edsPorts } from '../support/ads-client.js';
import { healthCheck } from '../support/health-client.js';
import { reflectedServices } from '../support/reflection-client.js';
import { eventually, onCleanup } from '../support/server.js';

/** The identities, then a user name and password as Basic credentials, right and wrong. */
const CALLERS = [...IDENTITIES, 'writer (Basic)', 'wrong password (Basic)'] as const;
type Caller = (typeof CALLERS)[number];

function authorization(n: MatrixNode, who: Caller): string | undefined {
  if (who === 'writer (Basic)') return basic('writer', PASSWORDS.writer);
  if (who === 'wrong password (Basic)') return basic('writer', 'not-the-password');
  return n.bearerOf(who);
}

const unauthenticated = (details: string): GrpcOutcome => ({ code: GrpcStatus.UNAUTHENTICATED, details });
const denied = (details: string): GrpcOutcome => ({ code: GrpcStatus.PERMISSION_DENIED, details });
const INVALID = unauthenticated('invalid credentials');

/** What each caller gets from a method needing a permission on `public`. */
const EXPECTED: Readonly<Record<Permission, Readonly<Record<Caller, GrpcOutcome>>>> = {
  read: {
    anonymous: unauthenticated('authentication required: read on namespace public needs credentials'),
    'wrong token': INVALID,
    reader: GRPC_OK,
    other: denied('other lacks read permission on namespace public'),
    writer: GRPC_OK,
    admin: GRPC_OK,
    'writer (Basic)': GRPC_OK,
    'wrong password (Basic)': INVALID,
  },
  write: {
    anonymous: unauthenticated('authentication required: write on namespace public needs credentials'),
    'wrong token': INVALID,
    reader: denied('reader lacks write permission on namespace public'),
    other: denied('other lacks write permission on namespace public'),
    writer: GRPC_OK,
    admin: GRPC_OK,
    'writer (Basic)': GRPC_OK,
    'wrong password (Basic)': INVALID,
  },
  admin: {
    anonymous: unauthenticated('authentication required: admin on namespace public needs credentials'),
    'wrong token': INVALID,
    reader: denied('reader lacks admin permission on namespace public'),
    other: denied('other lacks admin permission on namespace public'),
    writer: denied('writer lacks admin permission on namespace public'),
    admin: GRPC_OK,
    'writer (Basic)': denied('writer lacks admin permission on namespace public'),
    'wrong password (Basic)': INVALID,
  },
};

/** One method: the permission it needs, how to call it on ORDERS, and what an admitted call did. */
interface Row {
  readonly method: string;
  readonly permission: Permission;
  /** Puts the target in the state the method acts on (after the seed). */
  readonly prepare?: (n: MatrixNode) => void;
  /** Calls it; `check` asserts what an admitted call answered and did. */
  readonly call: (n: MatrixNode, md: Metadata) => Promise<{ outcome: GrpcOutcome; check: () => void }>;
}

function row<Res>(
  method: string,
  permission: Permission,
  call: (n: MatrixNode, md: Metadata) => Promise<{ outcome: GrpcOutcome; value: Res | undefined }>,
  admitted: (n: MatrixNode, value: Res) => void,
  prepare?: (n: MatrixNode) => void,
): Row {
  return {
    method,
    permission,
    ...(prepare === undefined ? {} : { prepare }),
    call: async (n, md) => {
      const { outcome, value } = await call(n, md);
      return {
        outcome,
        check: () => {
          expect(value).toBeDefined();
          if (value !== undefined) admitted(n, value);
        },
      };
    },
  };
}

const service = { namespace: ORDERS.namespace, group: '', service: ORDERS.service };
const target = { ...service, instanceId: ORDERS.instanceId };
const record = (n: MatrixNode) => n.server.registry.getInstance(ORDERS).record;
const ids = (info: ServiceInfo | undefined): string[] => info?.hosts.map((h) => h.instanceId) ?? [];

async function subscribe(n: MatrixNode, md: Metadata, namespace = 'public', service = 'orders'): Promise<{ outcome: GrpcOutcome; value: SubscribeResponse | undefined }> {
  const subscribers = n.server.stats().subscribers;
  const r = await stream(() => n.grpc.registry.subscribe(SubscribeRequest.fromPartial({ namespace, service }), md), true);
  // An admitted stream was cancelled after its first snapshot: wait until the node has let it go.
  if (r.outcome.code === GrpcStatus.OK)
    await eventually(() => n.server.stats().streams === 0 && n.server.stats().subscribers === subscribers, 'the cancelled Subscribe stream closed on the node');
  return { outcome: r.outcome, value: r.values[0] };
}

/** A status code that arrives in a message, as grpc-js's enum. */
const asStatus = (n: number): GrpcStatus => Object.values(GrpcStatus).find((v): v is GrpcStatus => (v as number) === n) ?? GrpcStatus.UNKNOWN;

/**
 * The first answer of a client stream after `write`: a refusal of the stream is its status, a
 * refusal of the message is its answer's code and message (`refusedBy`); the call is then cancelled.
 */
function firstAnswer<Res>(
  n: MatrixNode,
  open: () => ClientDuplexStream<unknown, Res>,
  write: unknown,
  refusedBy: (r: Res) => GrpcOutcome,
): Promise<{ outcome: GrpcOutcome; value: Res | undefined }> {
  const subscribers = n.server.stats().subscribers;
  return new Promise((resolve) => {
    const call = open();
    let settled = false;
    const settle = (outcome: GrpcOutcome, value: Res | undefined): void => {
      if (settled) return;
      settled = true;
      call.cancel();
      // An admitted watch goes with its stream: wait until the node has let it go.
      void eventually(() => n.server.stats().streams === 0 && n.server.stats().subscribers === subscribers, 'the cancelled stream closed on the node').then(() => {
        resolve({ outcome, value });
      });
    };
    call.on('data', (r: Res) => {
      settle(refusedBy(r), r);
    });
    call.on('error', (e: ServiceError) => {
      settle({ code: e.code, details: e.details }, undefined);
    });
    call.write(write);
  });
}

const ROWS: readonly Row[] = [
  row(
    'Register',
    'write',
    (n, md) => unary(n.grpc.registry.register.bind(n.grpc.registry), RegisterRequest.fromPartial({ ...service, instance: { instanceId: 'o-1', ip: '10.0.0.66', port: 8080 } }), md),
    (n) => {
      expect(record(n).ip).toBe('10.0.0.66');
    },
  ),
  row(
    'Renew',
    'write',
    (n, md) => unary(n.grpc.registry.renew.bind(n.grpc.registry), RenewRequest.fromPartial(target), md),
    (n) => {
      expect(n.server.registry.getInstance(ORDERS).lastRenewalMs).toBe(n.clock.nowMs());
    },
  ),
  row(
    'Cancel',
    'write',
    (n, md) => unary(n.grpc.registry.cancel.bind(n.grpc.registry), CancelRequest.fromPartial(target), md),
    (n) => {
      expect(n.server.registry.hasInstance(ORDERS)).toBe(false);
    },
  ),
  row(
    'SetStatus',
    'write',
    (n, md) => unary(n.grpc.registry.setStatus.bind(n.grpc.registry), SetStatusRequest.fromPartial({ ...target, status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE }), md),
    (n) => {
      expect(record(n).status).toBe('OUT_OF_SERVICE');
    },
  ),
  row(
    'DeleteStatusOverride',
    'write',
    (n, md) => unary(n.grpc.registry.deleteStatusOverride.bind(n.grpc.registry), DeleteStatusOverrideRequest.fromPartial(target), md),
    (n) => {
      expect(record(n)).toMatchObject({ status: 'UP', overriddenStatus: undefined });
    },
    (n) => {
      n.server.registry.setStatus({ ...ORDERS, status: 'OUT_OF_SERVICE' });
    },
  ),
  row(
    'UpdateService',
    'admin',
    (n, md) => unary(n.grpc.registry.updateService.bind(n.grpc.registry), UpdateServiceRequest.fromPartial({ ...service, protectThreshold: 0.5, metadata: { tier: 'gold' } }), md),
    (n) => {
      expect(n.server.registry.listServices({ namespace: 'public' }).services.find((s) => s.name === 'orders')).toMatchObject({
        protectThreshold: 0.5,
        metadata: { tier: 'gold' },
      });
    },
  ),
  row(
    'GetInstance',
    'read',
    (n, md) => unary(n.grpc.registry.getInstance.bind(n.grpc.registry), GetInstanceRequest.fromPartial(target), md),
    (_n, v) => {
      expect(v.instance?.instanceId).toBe('o-1');
    },
  ),
  row(
    'GetService',
    'read',
    (n, md) => unary(n.grpc.registry.getService.bind(n.grpc.registry), GetServiceRequest.fromPartial(service), md),
    (_n, v) => {
      expect(ids(v.serviceInfo)).toEqual(['o-1']);
    },
  ),
  row(
    'ListServices',
    'read',
    (n, md) => unary(n.grpc.registry.listServices.bind(n.grpc.registry), ListServicesRequest.fromPartial({ namespace: 'public' }), md),
    (_n, v) => {
      expect(v.services.map((s) => s.name)).toContain('orders');
    },
  ),
  row(
    'FetchRegistry',
    'read',
    (n, md) => unary(n.grpc.registry.fetchRegistry.bind(n.grpc.registry), FetchRegistryRequest.fromPartial({ namespace: 'public' }), md),
    (_n, v) => {
      expect(ids(v.services.find((s) => s.name === 'orders'))).toEqual(['o-1']);
    },
  ),
  row(
    'FetchDelta',
    'read',
    (n, md) => unary(n.grpc.registry.fetchDelta.bind(n.grpc.registry), FetchDeltaRequest.fromPartial({ namespace: 'public' }), md),
    (_n, v) => {
      expect(v.changes.map((c) => c.instance?.instanceId)).toContain('o-1');
    },
  ),
  row(
    'Subscribe',
    'read',
    (n, md) => subscribe(n, md),
    (_n, v) => {
      expect(ids(v.serviceInfo)).toEqual(['o-1']);
    },
  ),
  row(
    'Watch',
    'read',
    (n, md) =>
      firstAnswer(
        n,
        () => n.grpc.registry.watch(md) as ClientDuplexStream<unknown, WatchResponse>,
        { add: { watchId: 1, ...service, clusters: [], healthyOnly: false, resumeRevision: 0, resumeChecksum: '', view: InstanceView.INSTANCE_VIEW_UNSPECIFIED } },
        (r: WatchResponse) => (r.canceled ? { code: asStatus(r.errorCode), details: r.errorMessage } : GRPC_OK),
      ),
    (_n, v) => {
      expect(ids(v.serviceInfo)).toEqual(['o-1']);
    },
  ),
  row(
    'KeepAlive',
    'write',
    (n, md) =>
      firstAnswer(
        n,
        () => n.grpc.registry.keepAlive(md) as ClientDuplexStream<unknown, KeepAliveResponse>,
        { tag: 1, ...target, lastDirtyTimestamp: 0 },
        (r: KeepAliveResponse) => (r.code === 0 ? GRPC_OK : { code: asStatus(r.code), details: r.message }),
      ),
    (n) => {
      expect(n.server.registry.getInstance(ORDERS).lastRenewalMs).toBe(n.clock.nowMs());
    },
  ),
  row(
    'AggregatedDiscoveryService/StreamAggregatedResources (xDS, EDS of orders)',
    'read',
    (n, md) =>
      firstAnswer(
        n,
        () => adsClientOf(n).streamAggregatedResources(md) as ClientDuplexStream<unknown, DiscoveryResponse>,
        DiscoveryRequest.fromPartial({ typeUrl: TYPE_URL.endpoints, resourceNames: [ORDERS.service] }),
        () => GRPC_OK,
      ),
    (_n, v) => {
      expect(edsPorts(v)).toHaveLength(1);
    },
  ),
];

/** An ADS client of the node (the matrix's own clients are herald's services), closed after the test. */
function adsClientOf(n: MatrixNode): AggregatedDiscoveryServiceClient {
  const client = new AggregatedDiscoveryServiceClient(`127.0.0.1:${n.server.port}`, credentials.createInsecure());
  onCleanup(() => {
    client.close();
  });
  return client;
}

/** Seeds the canonical registry, then moves the clock so a renewal shows. */
function fresh(n: MatrixNode, r?: Row): void {
  n.seed();
  r?.prepare?.(n);
  n.clock.advance(1);
}

describe('gRPC auth matrix: RegistryService × callers (auth on)', () => {
  const node = useMatrixNode({ auth: true });

  describe.each(ROWS)('$method (needs $permission on public)', (r) => {
    it.each(CALLERS)('as %s', async (who) => {
      const n = node();
      fresh(n, r);
      const expected = EXPECTED[r.permission][who];
      const md = n.metadata(authorization(n, who));
      if (expected.code === GrpcStatus.OK) {
        const { outcome, check } = await r.call(n, md);
        expect(outcome).toEqual(expected);
        check();
      } else {
        const { outcome } = await n.witness.unchangedBy(() => r.call(n, md));
        expect(outcome).toEqual(expected);
      }
    });
  });
});

describe('gRPC: the attacks of issue #12 fail', () => {
  const node = useMatrixNode({ auth: true });
  const registrantRule = denied(
    'instance o-1 of DEFAULT_GROUP@@orders in namespace public was registered by writer; rival may not change it (only its registrant or an admin of namespace public may)',
  );
  /** Anonymous, a writer of another namespace and a writer of this one who did not register it. */
  const ATTACKERS: readonly (readonly [string, (n: MatrixNode) => string | undefined, GrpcOutcome])[] = [
    ['anonymous', () => undefined, EXPECTED.write.anonymous],
    ['other (write on prod)', (n) => n.bearerOf('other'), EXPECTED.write.other],
    ['rival (write on public, not the registrant)', (n) => `Bearer ${n.tokens.rival ?? ''}`, registrantRule],
  ];
  const attacks: readonly (readonly [string, (n: MatrixNode, md: Metadata) => Promise<{ outcome: GrpcOutcome }>])[] = [
    [
      'takes over another team’s instance (Register of the same id with its own IP)',
      (n, md) => unary(n.grpc.registry.register.bind(n.grpc.registry), RegisterRequest.fromPartial({ ...service, instance: { instanceId: 'o-1', ip: '6.6.6.6', port: 8080 } }), md),
    ],
    [
      'sets it OUT_OF_SERVICE',
      (n, md) => unary(n.grpc.registry.setStatus.bind(n.grpc.registry), SetStatusRequest.fromPartial({ ...target, status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE }), md),
    ],
    ['cancels it', (n, md) => unary(n.grpc.registry.cancel.bind(n.grpc.registry), CancelRequest.fromPartial(target), md)],
  ];

  describe.each(attacks)('a caller who %s', (_what, attack) => {
    it.each(ATTACKERS)('is refused as %s, and the instance stays as its registrant left it', async (_who, credentials, expected) => {
      const n = node();
      fresh(n);
      const before = record(n);
      const { outcome } = await n.witness.unchangedBy(() => attack(n, n.metadata(credentials(n))));
      expect(outcome).toEqual(expected);
      expect(record(n)).toBe(before);
    });
  });

  it('FetchRegistry, GetService, FetchDelta, ListServices, GetInstance and Subscribe of another namespace answer no instances and no metadata (dbPassword)', async () => {
    const n = node();
    fresh(n);
    const prodService = { namespace: 'prod', group: '', service: 'db' };
    const prod = { ...prodService, instanceId: 'db-1' };
    const fetchProd = (md: Metadata) => unary(n.grpc.registry.fetchRegistry.bind(n.grpc.registry), FetchRegistryRequest.fromPartial({ namespace: 'prod' }), md);
    const reads: readonly (readonly [string, (md: Metadata) => Promise<{ outcome: GrpcOutcome; value: unknown }>])[] = [
      ['FetchRegistry', fetchProd],
      ['GetService', (md) => unary(n.grpc.registry.getService.bind(n.grpc.registry), GetServiceRequest.fromPartial(prodService), md)],
      ['FetchDelta', (md) => unary(n.grpc.registry.fetchDelta.bind(n.grpc.registry), FetchDeltaRequest.fromPartial({ namespace: 'prod' }), md)],
      ['ListServices', (md) => unary(n.grpc.registry.listServices.bind(n.grpc.registry), ListServicesRequest.fromPartial({ namespace: 'prod' }), md)],
      ['GetInstance', (md) => unary(n.grpc.registry.getInstance.bind(n.grpc.registry), GetInstanceRequest.fromPartial(prod), md)],
      ['Subscribe', (md) => subscribe(n, md, 'prod', 'db')],
    ];
    const refusals: readonly (readonly [Identity, GrpcOutcome])[] = [
      ['anonymous', unauthenticated('authentication required: read on namespace prod needs credentials')],
      ['reader', denied('reader lacks read permission on namespace prod')],
      ['writer', denied('writer lacks read permission on namespace prod')],
    ];
    for (const [method, read] of reads) {
      for (const [who, expected] of refusals) {
        const { outcome, value } = await n.witness.unchangedBy(() => read(n.metadata(n.bearerOf(who))));
        expect({ method, who, outcome, value }).toEqual({ method, who, outcome: expected, value: undefined });
      }
    }
    // The namespace's own team and an admin do see it, so a leak would have shown above.
    for (const who of ['other', 'admin'] as const) {
      const { outcome, value } = await fetchProd(n.metadata(n.bearerOf(who)));
      expect(outcome).toEqual(GRPC_OK);
      expect(JSON.stringify(value)).toContain(DB_PASSWORD);
    }
    expect(n.server.registry.getInstance(DB).record.metadata.dbPassword).toBe(DB_PASSWORD);
  });
});

describe('gRPC: the services open to every caller', () => {
  const node = useMatrixNode({ auth: true });

  it('AuthService/Login needs no credentials and answers a token that works; a wrong password is UNAUTHENTICATED', async () => {
    const n = node();
    fresh(n);
    const login = n.grpc.auth.login.bind(n.grpc.auth);
    const ok = await unary(login, { username: 'reader', password: PASSWORDS.reader }, n.metadata());
    expect(ok.outcome).toEqual(GRPC_OK);
    expect(ok.value?.username).toBe('reader');
    const read = await unary(n.grpc.registry.getInstance.bind(n.grpc.registry), GetInstanceRequest.fromPartial(target), n.metadata(`Bearer ${ok.value?.accessToken ?? ''}`));
    expect(read.outcome).toEqual(GRPC_OK);
    const wrong = await n.witness.unchangedBy(() => unary(login, { username: 'reader', password: 'nope' }, n.metadata()));
    expect(wrong.outcome).toEqual(INVALID);
  });

  it('health answers SERVING and reflection lists the services without credentials', async () => {
    const n = node();
    expect(await healthCheck(n.server.port)).toBe('SERVING');
    expect(await healthCheck(n.server.port, 'herald.v1.RegistryService')).toBe('SERVING');
    expect(await reflectedServices(n.server.port)).toEqual(expect.arrayContaining(['herald.v1.RegistryService', 'herald.v1.PeerService', 'grpc.health.v1.Health']));
  });
});

describe('gRPC with auth off (the default config): every method served as before', () => {
  const node = useMatrixNode({ auth: false });

  it.each(ROWS)('$method as anonymous is OK', async (r) => {
    const n = node();
    fresh(n, r);
    const { outcome, check } = await r.call(n, n.metadata());
    expect(outcome).toEqual(GRPC_OK);
    check();
  });

  it('Login says authentication is off (FAILED_PRECONDITION)', async () => {
    const n = node();
    const r = await unary(n.grpc.auth.login.bind(n.grpc.auth), { username: 'admin', password: PASSWORDS.admin }, n.metadata());
    expect(r.outcome).toEqual({ code: GrpcStatus.FAILED_PRECONDITION, details: 'authentication is off on this server: calls need no token' });
  });
});
