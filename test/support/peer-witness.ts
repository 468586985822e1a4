/**
 * A silent member of the nodes' peer lists that lets a test see anti-entropy rounds happen, so it
 * can wait for "at least one more anti-entropy interval" as an event instead of sleeping.
 *
 * Each node runs its rounds one at a time and, within a round, verifies with its peers one after
 * the other in peer-list order (src/cluster/cluster.ts `verifyNow`); the next round starts
 * `--verify-interval-ms` after the previous one ends. Listed last, the witness is asked for its
 * checksums at the end of every round, after the node has verified with every real peer. So once
 * the witness has seen two checksum requests from a node after a moment T, that node has completed
 * a whole round that started after T.
 *
 * The witness changes nothing in the cluster: it accepts replication batches (answering OK, so no
 * dispatcher retries), and refuses checksums, service fetches and start-up syncs (UNIMPLEMENTED),
 * which a node treats as a peer that did not answer: nothing is adopted or removed because of it.
 */
import { Server, ServerCredentials, status as GrpcStatus, type handleServerStreamingCall, type handleUnaryCall, type ServiceError } from '@grpc/grpc-js';
import {
  PeerServiceService,
  ReplicationOutcome,
  type FetchServicesRequest,
  type FetchServicesResponse,
  type ListChecksumsRequest,
  type ListChecksumsResponse,
  type ReplicateRequest,
  type ReplicateResponse,
  type SyncRegistryRequest,
  type SyncRegistryResponse,
} from '../../src/gen/herald/v1/peer_service.js';

const refused = (what: string): Partial<ServiceError> => ({ code: GrpcStatus.UNIMPLEMENTED, details: `the test's peer witness does not serve ${what}` });

export interface WitnessedRound {
  readonly nodeId: string;
  readonly atMs: number;
}

export class PeerWitness {
  /** Every checksum request, in arrival order. */
  readonly rounds: WitnessedRound[] = [];
  /** Replication tasks received per node id. */
  readonly replicated = new Map<string, number>();
  private readonly waiters = new Set<() => void>();

  /** host:port as the nodes list it (known once listening). */
  address = '';

  private constructor(private readonly server: Server) {}

  /** Listens on host:port (port 0 picks a free one) in the root namespace, which every node reaches. */
  static async start(host: string, port: number): Promise<PeerWitness> {
    const server = new Server();
    const witness = new PeerWitness(server);
    const replicate: handleUnaryCall<ReplicateRequest, ReplicateResponse> = (call, cb) => {
      const { nodeId, tasks } = call.request;
      witness.replicated.set(nodeId, (witness.replicated.get(nodeId) ?? 0) + tasks.length);
      cb(null, { nodeId: 'peer-witness', results: tasks.map(() => ({ outcome: ReplicationOutcome.REPLICATION_OUTCOME_OK, message: '', serverCopy: undefined })) });
    };
    const listChecksums: handleUnaryCall<ListChecksumsRequest, ListChecksumsResponse> = (call, cb) => {
      witness.rounds.push({ nodeId: call.request.nodeId, atMs: Date.now() });
      for (const w of [...witness.waiters]) w();
      cb(refused('checksums'));
    };
    const fetchServices: handleUnaryCall<FetchServicesRequest, FetchServicesResponse> = (_call, cb) => {
      cb(refused('service state'));
    };
    const syncRegistry: handleServerStreamingCall<SyncRegistryRequest, SyncRegistryResponse> = (call) => {
      call.emit('error', refused('start-up sync'));
    };
    server.addService(PeerServiceService, { replicate, listChecksums, fetchServices, syncRegistry });
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (e, p) => {
        if (e) reject(e);
        else resolve(p);
      });
    });
    witness.address = `${host}:${bound}`;
    return witness;
  }

  /** How many rounds of `nodeId` ended after `sinceMs`. */
  roundsSince(nodeId: string, sinceMs: number): number {
    return this.rounds.filter((r) => r.nodeId === nodeId && r.atMs > sinceMs).length;
  }

  /**
   * Resolves once each of `nodeIds` has completed a whole anti-entropy round that started after
   * `sinceMs` (two witnessed round ends since then). Rejects after `boundMs` (a safety bound that
   * names the laggards, not a timing assertion).
   */
  async fullRoundSince(nodeIds: readonly string[], sinceMs: number, boundMs = 30_000): Promise<void> {
    const done = (): boolean => nodeIds.every((n) => this.roundsSince(n, sinceMs) >= 2);
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const counts = nodeIds.map((n) => `${n}: ${this.roundsSince(n, sinceMs)}`).join(', ');
        reject(new Error(`no complete anti-entropy round within ${boundMs} ms (round ends seen since then: ${counts})`));
      }, boundMs);
      this.waiters.add(check);
    });
  }

  /** Stops listening. Idempotent. */
  close(): void {
    this.server.forceShutdown();
  }
}
