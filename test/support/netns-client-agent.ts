/**
 * A registry client run as its own process inside a node's network namespace (see
 * netns-client.ts), so it keeps talking to that node while the node is cut off from the rest.
 * Args: <server host:port>. Reads one JSON command per stdin line and runs them strictly one after
 * another; answers each on stdout with its `seq` and the outcome as the server gave it:
 *
 *   {"seq":1,"op":"register","service":"orders","id":"a-1","version":2,"leaseMs":600000,"renewMs":30000}
 *   {"seq":2,"op":"cancel","service":"orders","id":"a-1"}
 *   {"seq":3,"op":"list","service":"orders"}                      -> result: {"a-1": "2", ...} (id -> metadata v)
 *   {"seq":4,"op":"cluster"}                       -> result: the node's GetClusterStatus (peers, queues, drops)
 *   {"seq":5,"op":"deletions","service":"orders"} -> result: [{"id":"a-1","atMs":...}] removals in its delta log
 *   {"seq":6,"op":"keepalive","service":"orders","instances":[{"id":"a-1","leaseMs":3000},..],"renewMs":500}
 *       registers each (answered once all are), then renews each every renewMs in the background;
 *       NOT_FOUND on a renewal registers it again, as the SDK does (events "reregistered").
 *   -> {"seq":1,"ok":true,"result":...} | {"seq":1,"ok":false,"code":14,"details":"..."}
 *   -> {"event":"ready"} first; {"event":"...", ...} for background happenings.
 *
 * Registers carry metadata {v: version} so a reader can tell which write a copy comes from.
 */
import { createInterface } from 'node:readline';
import { credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { ActionType, InstanceView } from '../../src/gen/herald/v1/model.js';
import { ClusterServiceClient, type GetClusterStatusResponse } from '../../src/gen/herald/v1/peer_service.js';
import { NETNS_CLUSTER_SECRET } from './netns-secret.js';

/** ClusterService needs the cluster's secret. */
function secretMetadata(): Metadata {
  const md = new Metadata();
  md.set('x-herald-cluster-secret', NETNS_CLUSTER_SECRET);
  return md;
}
import { RegistryTransport } from '../../src/client/registry-transport.js';

export type AgentCommand =
  | { seq: number; op: 'register'; service: string; id: string; version: number; leaseMs: number; renewMs: number }
  | { seq: number; op: 'cancel'; service: string; id: string }
  | { seq: number; op: 'list'; service: string }
  | { seq: number; op: 'cluster' }
  | { seq: number; op: 'deletions'; service: string }
  | { seq: number; op: 'keepalive'; service: string; instances: { id: string; leaseMs: number }[]; renewMs: number };

export type AgentReply = { seq: number; ok: true; result?: unknown } | { seq: number; ok: false; code: number; details: string };

export interface AgentEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

function main(): void {
  const [server = ''] = process.argv.slice(2);
  const t = new RegistryTransport(server, { deadlineMs: 3_000 });
  const cluster = new ClusterServiceClient(server, credentials.createInsecure());
  const clusterStatus = (): Promise<GetClusterStatusResponse> =>
    new Promise((resolve, reject) => {
      cluster.getClusterStatus({}, secretMetadata(), { deadline: Date.now() + 3_000 }, (e: ServiceError | null, r: GetClusterStatusResponse) => {
        if (e) reject(e);
        else resolve(r);
      });
    });
  const out = (o: AgentReply | AgentEvent): void => {
    process.stdout.write(`${JSON.stringify(o)}\n`);
  };
  const failure = (seq: number, e: unknown): AgentReply => {
    const se = e as Partial<ServiceError>;
    return { seq, ok: false, code: typeof se.code === 'number' ? se.code : -1, details: se.details ?? String(e) };
  };
  const register = (service: string, id: string, version: number, leaseMs: number, renewMs: number) =>
    t.register(
      RegisterRequest.fromPartial({
        service,
        instance: { instanceId: id, ip: '10.99.0.1', port: 8080, metadata: { v: String(version) }, lease: { durationMs: leaseMs, renewalIntervalMs: renewMs } },
      }),
    );

  const keepalive = (service: string, instances: { id: string; leaseMs: number }[], renewMs: number): void => {
    const round = async (): Promise<void> => {
      for (const { id, leaseMs } of instances) {
        try {
          await t.renew({ namespace: '', group: '', service, instanceId: id, lastDirtyTimestamp: 0 });
        } catch (e) {
          const code = (e as Partial<ServiceError>).code;
          out({ event: code === GrpcStatus.NOT_FOUND ? 'renew-not-found' : 'renew-failed', id, code, at: Date.now() });
          if (code !== GrpcStatus.NOT_FOUND) continue;
          try {
            await register(service, id, 1, leaseMs, renewMs);
            out({ event: 'reregistered', id, at: Date.now() });
          } catch (e2) {
            out({ event: 'reregister-failed', id, code: (e2 as Partial<ServiceError>).code, at: Date.now() });
          }
        }
      }
      setTimeout(() => void round(), renewMs);
    };
    setTimeout(() => void round(), renewMs);
  };

  const run = async (c: AgentCommand): Promise<AgentReply> => {
    try {
      switch (c.op) {
        case 'register':
          await register(c.service, c.id, c.version, c.leaseMs, c.renewMs);
          return { seq: c.seq, ok: true };
        case 'cancel':
          await t.cancel({ namespace: '', group: '', service: c.service, instanceId: c.id });
          return { seq: c.seq, ok: true };
        case 'list': {
          const res = await t.getService({ namespace: '', group: '', service: c.service, clusters: [], healthyOnly: false, udpPort: 0, view: InstanceView.INSTANCE_VIEW_UNSPECIFIED });
          return { seq: c.seq, ok: true, result: Object.fromEntries((res.serviceInfo?.hosts ?? []).map((h) => [h.instanceId, h.metadata.v ?? ''])) };
        }
        case 'deletions': {
          const res = await t.fetchDelta({ namespace: '' });
          const removed = res.changes.filter((ch) => ch.action === ActionType.ACTION_TYPE_DELETED && ch.service === c.service);
          return { seq: c.seq, ok: true, result: removed.map((ch) => ({ id: ch.instance?.instanceId ?? '', atMs: ch.changedAt })) };
        }
        case 'cluster':
          return { seq: c.seq, ok: true, result: await clusterStatus() };
        case 'keepalive':
          for (const { id, leaseMs } of c.instances) await register(c.service, id, 1, leaseMs, c.renewMs);
          keepalive(c.service, c.instances, c.renewMs);
          return { seq: c.seq, ok: true };
      }
    } catch (e) {
      return failure(c.seq, e);
    }
  };

  // Strictly sequential: each command starts after the previous one was answered.
  let chain = Promise.resolve();
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      const c = JSON.parse(line) as AgentCommand;
      chain = chain.then(async () => {
        out(await run(c));
      });
    })
    .on('close', () => {
      process.exit(0);
    });
  out({ event: 'ready', server });
}

main();
