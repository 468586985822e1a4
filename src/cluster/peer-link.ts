/**
 * A connection to one peer: the four PeerService calls with deadlines and the cluster secret. The
 * PeerLink interface is what the cluster depends on, so tests can wrap it to inject faults.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  PeerServiceClient,
  type FetchServicesRequest,
  type FetchServicesResponse,
  type ListChecksumsResponse,
  type ReplicateRequest,
  type ReplicateResponse,
  type SyncRegistryResponse,
} from '../gen/herald/v1/peer_service.js';

export const CLUSTER_SECRET_HEADER = 'x-herald-cluster-secret';

export interface PeerLink {
  readonly address: string;
  /** false when the peer cannot answer checksums (a Eureka server): anti-entropy skips it. */
  readonly antiEntropy?: boolean;
  replicate(req: ReplicateRequest): Promise<ReplicateResponse>;
  /** Every chunk of the peer's registry, or a rejection. */
  syncRegistry(nodeId: string, deadlineMs: number): AsyncIterable<SyncRegistryResponse>;
  listChecksums(nodeId: string): Promise<ListChecksumsResponse>;
  fetchServices(req: FetchServicesRequest): Promise<FetchServicesResponse>;
  close(): void;
}

export class GrpcPeerLink implements PeerLink {
  private readonly client: PeerServiceClient;

  constructor(
    readonly address: string,
    private readonly secret: string | undefined,
    private readonly deadlineMs: number,
  ) {
    this.client = new PeerServiceClient(address, credentials.createInsecure(), {
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

  replicate(req: ReplicateRequest): Promise<ReplicateResponse> {
    return this.unary((md, deadline, cb) => this.client.replicate(req, md, { deadline }, cb));
  }

  listChecksums(nodeId: string): Promise<ListChecksumsResponse> {
    return this.unary((md, deadline, cb) => this.client.listChecksums({ nodeId }, md, { deadline }, cb));
  }

  fetchServices(req: FetchServicesRequest): Promise<FetchServicesResponse> {
    return this.unary((md, deadline, cb) => this.client.fetchServices(req, md, { deadline }, cb));
  }

  async *syncRegistry(nodeId: string, deadlineMs: number): AsyncIterable<SyncRegistryResponse> {
    const call = this.client.syncRegistry({ nodeId }, this.metadata(), { deadline: new Date(Date.now() + deadlineMs) });
    try {
      for await (const chunk of call) yield chunk as SyncRegistryResponse;
    } finally {
      call.cancel();
    }
  }

  close(): void {
    this.client.close();
  }
}
