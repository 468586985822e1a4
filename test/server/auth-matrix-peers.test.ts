/**
 * The auth matrix of peer calls (issue #12): PeerService (Replicate, SyncRegistry, ListChecksums,
 * FetchServices), ClusterService (GetClusterStatus, GetNodeStatus) and Eureka's peer batch, × the
 * credentials a caller may bring (none, a wrong secret, the cluster secret as a header or a Basic
 * password, an admin or a writer token), on a node with auth on or off and with or without a
 * cluster secret; then the peer attacks by name.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { FetchServicesRequest, ReplicateRequest, ReplicationAction, ReplicationOutcome } from '../../src/gen/herald/v1/peer_service.js';
import { GrpcPeerLink } from '../../src/server/peer/grpc-peer-link.js';
import {
  basic,
  CLUSTER_SECRET,
  DB,
  DB_PASSWORD,
  GRPC_OK,
  ORDERS,
  stream,
  unary,
  useMatrixNode,
  type GrpcOutcome,
  type MatrixNode,
  type MatrixOptions,
} from '../support/auth-matrix.js';

const COLUMNS = ['no credentials', 'a wrong secret', 'the cluster secret', 'the secret as a Basic password', 'an admin token', 'a writer token'] as const;
type Column = (typeof COLUMNS)[number];

interface PeerCreds {
  readonly secret?: string;
  readonly authorization?: string;
}

function credsOf(n: MatrixNode, c: Column): PeerCreds {
  switch (c) {
    case 'no credentials':
      return {};
    case 'a wrong secret':
      return { secret: 'not-the-secret' };
    case 'the cluster secret':
      return { secret: CLUSTER_SECRET };
    case 'the secret as a Basic password':
      return { authorization: basic('herald', CLUSTER_SECRET) };
    case 'an admin token':
      return { authorization: `Bearer ${n.tokens.admin ?? 'no-tokens-with-auth-off'}` };
    case 'a writer token':
      return { authorization: `Bearer ${n.tokens.writer ?? 'no-tokens-with-auth-off'}` };
  }
}

const unauthenticated = (details: string): GrpcOutcome => ({ code: GrpcStatus.UNAUTHENTICATED, details });
const SECRET_MISSING = unauthenticated('missing or wrong cluster secret');
const NEEDS_ADMIN = unauthenticated('authentication required: admin on every namespace needs credentials');
const INVALID = unauthenticated('invalid credentials');
const WRITER_NOT_ADMIN: GrpcOutcome = { code: GrpcStatus.PERMISSION_DENIED, details: 'writer lacks admin permission on every namespace' };

type Table = Readonly<Record<Column, GrpcOutcome>>;
const only = (ok: readonly Column[], refusal: GrpcOutcome): Table => Object.fromEntries(COLUMNS.map((c) => [c, ok.includes(c) ? GRPC_OK : refusal])) as Record<Column, GrpcOutcome>;

/** What a node answers, per kind of call: a peer call over gRPC, Eureka's peer batch, a cluster view. */
interface Config {
  readonly name: string;
  readonly options: MatrixOptions;
  readonly peer: Table;
  readonly eurekaPeer: Table;
  readonly clusterView: Table;
}

const CONFIGS: readonly Config[] = [
  {
    name: 'auth on, cluster secret set',
    options: { auth: true, clusterSecret: CLUSTER_SECRET },
    // Only the secret: gRPC reads it from its header, Eureka's batch also from a Basic password.
    peer: only(['the cluster secret'], SECRET_MISSING),
    eurekaPeer: only(['the cluster secret', 'the secret as a Basic password'], SECRET_MISSING),
    // The secret or an admin.
    clusterView: { ...only(['the cluster secret', 'an admin token'], NEEDS_ADMIN), 'the secret as a Basic password': INVALID, 'a writer token': WRITER_NOT_ADMIN },
  },
  {
    name: 'auth on, no cluster secret',
    options: { auth: true },
    // An admin of every namespace; a secret means nothing where none is set.
    peer: { ...only(['an admin token'], NEEDS_ADMIN), 'the secret as a Basic password': INVALID, 'a writer token': WRITER_NOT_ADMIN },
    eurekaPeer: { ...only(['an admin token'], NEEDS_ADMIN), 'the secret as a Basic password': INVALID, 'a writer token': WRITER_NOT_ADMIN },
    clusterView: { ...only(['an admin token'], NEEDS_ADMIN), 'the secret as a Basic password': INVALID, 'a writer token': WRITER_NOT_ADMIN },
  },
  {
    name: 'auth off, cluster secret set',
    options: { auth: false, clusterSecret: CLUSTER_SECRET },
    peer: only(['the cluster secret'], SECRET_MISSING),
    eurekaPeer: only(['the cluster secret', 'the secret as a Basic password'], SECRET_MISSING),
    clusterView: only(['the cluster secret'], SECRET_MISSING),
  },
  {
    name: 'auth off, no cluster secret (the default config)',
    options: { auth: false },
    peer: only(COLUMNS, GRPC_OK),
    eurekaPeer: only(COLUMNS, GRPC_OK),
    clusterView: only(COLUMNS, GRPC_OK),
  },
];

/** One peer call: which table decides it, how to make it, and what an admitted call answered and did. */
interface Op {
  readonly name: string;
  readonly kind: 'peer' | 'eurekaPeer' | 'clusterView';
  readonly call: (n: MatrixNode, c: PeerCreds) => Promise<{ got: unknown; data: string; check: () => void }>;
  /** What `got` is for an outcome of the decision. */
  readonly expected: (o: GrpcOutcome) => unknown;
}

const asIs = (o: GrpcOutcome): unknown => o;
const md = (n: MatrixNode, c: PeerCreds) => n.metadata(c.authorization, c.secret);

/** A Cancel of ORDERS as a peer sends it: a tombstone newer than the instance. */
function cancelOrders(n: MatrixNode): ReplicateRequest {
  const version = n.server.registry.getInstance(ORDERS).record.version + 1;
  const now = n.clock.nowMs();
  return ReplicateRequest.fromPartial({
    nodeId: 'intruder',
    tasks: [
      {
        action: ReplicationAction.REPLICATION_ACTION_CANCEL,
        target: { namespace: ORDERS.namespace, group: ORDERS.group, service: ORDERS.service, instance: { instanceId: ORDERS.instanceId } },
        version,
        tombstone: { instanceId: ORDERS.instanceId, version, deletedAt: now, expiresAt: now + 600_000 },
      },
    ],
  });
}

const removed = (n: MatrixNode) => {
  expect(n.server.registry.hasInstance(ORDERS)).toBe(false);
};

const OPS: readonly Op[] = [
  {
    name: 'PeerService/Replicate (a Cancel)',
    kind: 'peer',
    expected: asIs,
    call: async (n, c) => {
      const { outcome, value } = await unary(n.grpc.peer.replicate.bind(n.grpc.peer), cancelOrders(n), md(n, c));
      return {
        got: outcome,
        data: JSON.stringify(value ?? null),
        check: () => {
          expect(value?.results.map((r) => r.outcome)).toEqual([ReplicationOutcome.REPLICATION_OUTCOME_OK]);
          removed(n);
        },
      };
    },
  },
  {
    name: 'PeerService/SyncRegistry',
    kind: 'peer',
    expected: asIs,
    call: async (n, c) => {
      const { outcome, values } = await stream(() => n.grpc.peer.syncRegistry({ nodeId: 'intruder' }, md(n, c)), false);
      return {
        got: outcome,
        data: JSON.stringify(values),
        check: () => {
          expect(JSON.stringify(values)).toContain(DB_PASSWORD);
        },
      };
    },
  },
  {
    name: 'PeerService/ListChecksums',
    kind: 'peer',
    expected: asIs,
    call: async (n, c) => {
      const { outcome, value } = await unary(n.grpc.peer.listChecksums.bind(n.grpc.peer), { nodeId: 'intruder' }, md(n, c));
      return {
        got: outcome,
        data: JSON.stringify(value ?? null),
        check: () => {
          expect(value?.services.map((s) => s.service)).toContain(DB.service);
        },
      };
    },
  },
  {
    name: 'PeerService/FetchServices',
    kind: 'peer',
    expected: asIs,
    call: async (n, c) => {
      const req = FetchServicesRequest.fromPartial({ nodeId: 'intruder', services: [{ namespace: DB.namespace, group: DB.group, service: DB.service }] });
      const { outcome, value } = await unary(n.grpc.peer.fetchServices.bind(n.grpc.peer), req, md(n, c));
      return {
        got: outcome,
        data: JSON.stringify(value ?? null),
        check: () => {
          expect(JSON.stringify(value)).toContain(DB_PASSWORD);
        },
      };
    },
  },
  {
    name: 'ClusterService/GetClusterStatus',
    kind: 'clusterView',
    expected: asIs,
    call: async (n, c) => {
      const { outcome, value } = await unary(n.grpc.cluster.getClusterStatus.bind(n.grpc.cluster), {}, md(n, c));
      return {
        got: outcome,
        data: JSON.stringify(value ?? null),
        check: () => {
          expect(value?.synced).toBe(true);
        },
      };
    },
  },
  {
    name: 'ClusterService/GetNodeStatus',
    kind: 'clusterView',
    expected: asIs,
    call: async (n, c) => {
      const { outcome, value } = await unary(n.grpc.cluster.getNodeStatus.bind(n.grpc.cluster), {}, md(n, c));
      return {
        got: outcome,
        data: JSON.stringify(value ?? null),
        check: () => {
          expect(value?.instances).toBe(n.server.registry.stats().instances);
        },
      };
    },
  },
  {
    name: 'POST /eureka/peerreplication/batch (a Cancel)',
    kind: 'eurekaPeer',
    // Eureka's answer: 401 with a challenge for who could not be authenticated, 403 for who may not.
    expected: (o) =>
      o.code === GrpcStatus.OK
        ? { status: 200 }
        : o.code === GrpcStatus.UNAUTHENTICATED
          ? { status: 401, text: o.details, challenge: 'Basic realm="herald", charset="UTF-8"' }
          : { status: 403, text: o.details, challenge: null },
    call: async (n, c) => {
      const headers: Record<string, string> = { 'x-netflix-discovery-replication': 'true' };
      if (c.secret !== undefined) headers['x-herald-cluster-secret'] = c.secret;
      if (c.authorization !== undefined) headers.authorization = c.authorization;
      const item = { appName: 'ORDERS', id: ORDERS.instanceId, lastDirtyTimestamp: null, overriddenStatus: null, status: null, action: 'Cancel' };
      const a = await n.http('POST', '/eureka/peerreplication/batch', { headers, body: { replicationList: [item] } });
      return {
        got: a.status === 200 ? { status: 200 } : a,
        data: a.text,
        check: () => {
          expect(JSON.parse(a.text)).toEqual({ responseList: [{ statusCode: 200 }] });
          removed(n);
        },
      };
    },
  },
];

const tableOf = (config: Config, op: Op): Table => config[op.kind];

describe.each(CONFIGS)('peer calls on a node with $name', (config) => {
  const node = useMatrixNode(config.options);

  describe.each(OPS)('$name', (op) => {
    it.each(COLUMNS)('with %s', async (column) => {
      const n = node();
      n.seed();
      const creds = credsOf(n, column);
      const decision = tableOf(config, op)[column];
      if (decision.code === GrpcStatus.OK) {
        const { got, check } = await op.call(n, creds);
        expect(got).toEqual(op.expected(decision));
        check();
      } else {
        const { got } = await n.witness.unchangedBy(() => op.call(n, creds));
        expect(got).toEqual(op.expected(decision));
      }
    });
  });
});

describe('the peer attacks of issue #12 fail', () => {
  const node = useMatrixNode({ auth: true, clusterSecret: CLUSTER_SECRET });
  const op = (name: string): Op => {
    const found = OPS.find((o) => o.name.startsWith(name));
    if (found === undefined) throw new Error(`no op ${name}`);
    return found;
  };

  it('PeerService/Replicate with a Cancel and no secret, a wrong one or an admin token does not remove the instance (UNAUTHENTICATED)', async () => {
    const n = node();
    for (const column of ['no credentials', 'a wrong secret', 'an admin token'] as const) {
      n.seed();
      const { got } = await n.witness.unchangedBy(() => op('PeerService/Replicate').call(n, credsOf(n, column)));
      expect(got).toEqual(SECRET_MISSING);
      expect(n.server.registry.hasInstance(ORDERS)).toBe(true);
    }
  });

  it('a herald peer link with the wrong secret cannot replicate a Cancel either', async () => {
    const n = node();
    n.seed();
    const link = new GrpcPeerLink(`127.0.0.1:${n.server.port}`, 'not-the-secret', 10_000);
    try {
      const tombstone = {
        ...ORDERS,
        version: n.server.registry.getInstance(ORDERS).record.version + 1,
        deletedAt: n.clock.nowMs(),
        expiresAt: n.clock.nowMs() + 600_000,
        persistent: true,
      };
      const attempt = n.witness.unchangedBy(() =>
        link.replicate('intruder', [{ kind: 'cancel', ref: ORDERS, tombstone, replication: false }]).then(
          () => 'replicated',
          (e: unknown) => e,
        ),
      );
      expect(await attempt).toMatchObject(SECRET_MISSING);
    } finally {
      link.close();
    }
  });

  it('POST /eureka/peerreplication/batch with a Cancel on a node with a cluster secret needs the secret (401)', async () => {
    const n = node();
    for (const column of ['no credentials', 'a wrong secret', 'an admin token', 'a writer token'] as const) {
      n.seed();
      const batch = op('POST /eureka/peerreplication/batch');
      const { got } = await n.witness.unchangedBy(() => batch.call(n, credsOf(n, column)));
      expect(got).toEqual(batch.expected(SECRET_MISSING));
      expect(n.server.registry.hasInstance(ORDERS)).toBe(true);
    }
  });

  it('ClusterService does not answer anyone: no credentials, a wrong secret or a writer are refused', async () => {
    const n = node();
    n.seed();
    for (const name of ['ClusterService/GetClusterStatus', 'ClusterService/GetNodeStatus']) {
      for (const [column, expected] of [
        ['no credentials', NEEDS_ADMIN],
        ['a wrong secret', NEEDS_ADMIN],
        ['a writer token', WRITER_NOT_ADMIN],
      ] as const) {
        const { got } = await n.witness.unchangedBy(() => op(name).call(n, credsOf(n, column)));
        expect({ name, column, got }).toEqual({ name, column, got: expected });
      }
    }
  });

  it('SyncRegistry and FetchServices without the secret leak no other namespace’s metadata (dbPassword)', async () => {
    const n = node();
    n.seed();
    for (const name of ['PeerService/SyncRegistry', 'PeerService/FetchServices']) {
      const { got, data } = await n.witness.unchangedBy(() => op(name).call(n, credsOf(n, 'an admin token')));
      expect(got).toEqual(SECRET_MISSING);
      expect(data).not.toContain(DB_PASSWORD);
    }
  });
});
