/**
 * A herald peer over gRPC (herald.v1.PeerService): the four calls with deadlines and the cluster
 * secret, translated by the peer codec into the cluster's terms.
 */
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { CLUSTER_SECRET_HEADER } from '../grpc-auth.js';
import type { ReplicaDigestEntry } from '../../core/registry.js';
import type { ServiceRef } from '../../core/model.js';
import type { PeerAnswer, PeerLink, ReplicationTask, ServiceReplica, SyncChunk } from '../../cluster/peer-link.js';
import { PeerServiceClient, type FetchServicesResponse, type ListChecksumsResponse, type ReplicateResponse, type SyncRegistryResponse } from '../../gen/herald/v1/peer_service.js';
import { answerFromWire, digestFromWire, serviceReplicaFromWire, syncChunkFromWire, taskToWire } from './peer-codec.js';


export class GrpcPeerLink implements PeerLink {
  private readonly client: PeerServiceClient;

  constructor(
    readonly address: string,
    private readonly secret: string | undefined,
    private readonly deadlineMs: number,
    /** Plain text by default; the node's TLS credentials when it serves TLS. */
    channelCredentials: ChannelCredentials = credentials.createInsecure(),
  ) {
    this.client = new PeerServiceClient(address, channelCredentials, {
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // Peers should fail fast while down so the dispatcher backs off instead of piling up calls.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
  }

  private metadata(): Metadata {
    const md = new Metadata();
    if (this.secret !== undefined) md.set(CLUSTER_SECRET_HEADER, this.secret);
    return md;
  }

  private unary<Res>(call: (md: Metadata, deadline: Date, cb: (e: ServiceError | null, r: Res) => void) => void): Promise<Res> {
    return new Promise((resolve, reject) => {
      call(this.metadata(), new Date(Date.now() + this.deadlineMs), (e, r) => {
        if (e) reject(e);
        else resolve(r);
      });
    });
  }

  async replicate(nodeId: string, tasks: readonly ReplicationTask[]): Promise<{ nodeId: string; answers: PeerAnswer[] }> {
    const res = await this.unary<ReplicateResponse>((md, deadline, cb) => this.client.replicate({ nodeId, tasks: tasks.map(taskToWire) }, md, { deadline }, cb));
    return {
      nodeId: res.nodeId,
      answers: tasks.map((t, i): PeerAnswer => {
        const r = res.results[i];
        return r === undefined ? { kind: 'rejected', message: 'the peer gave no answer for this task' } : answerFromWire(r, t.ref);
      }),
    };
  }

  async listDigests(nodeId: string): Promise<ReplicaDigestEntry[]> {
    const res = await this.unary<ListChecksumsResponse>((md, deadline, cb) => this.client.listChecksums({ nodeId }, md, { deadline }, cb));
    return res.services.map(digestFromWire);
  }

  async fetchServices(nodeId: string, services: readonly ServiceRef[]): Promise<ServiceReplica[]> {
    const req = { nodeId, services: services.map((s) => ({ namespace: s.namespace, group: s.group, service: s.service })) };
    const res = await this.unary<FetchServicesResponse>((md, deadline, cb) => this.client.fetchServices(req, md, { deadline }, cb));
    const out: ServiceReplica[] = [];
    for (const s of res.services) {
      const r = serviceReplicaFromWire(s);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  async *syncRegistry(nodeId: string, deadlineMs: number): AsyncIterable<SyncChunk> {
    const call = this.client.syncRegistry({ nodeId }, this.metadata(), { deadline: new Date(Date.now() + deadlineMs) });
    try {
      for await (const chunk of call) yield syncChunkFromWire(chunk as SyncRegistryResponse);
    } finally {
      call.cancel();
    }
  }

  close(): void {
    this.client.close();
  }
}
