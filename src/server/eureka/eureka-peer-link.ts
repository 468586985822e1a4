/**
 * A link to a Eureka server (or another herald's Eureka API) as a cluster peer, over Eureka's REST
 * API: replication batches go to `<serviceUrl>/peerreplication/batch` with the
 * `x-netflix-discovery-replication` header, the start-up sync reads `<serviceUrl>/apps`. Only apps
 * of the Eureka namespace's default group travel; other tasks are answered OK here, since a Eureka
 * server has no place for them. Eureka has no versions or digests, so anti-entropy does not run
 * against such a peer (as between Eureka servers, heartbeats answered 404 re-send the registration).
 * Calls carry the cluster secret (a herald peer's Eureka API needs it), Basic credentials from the
 * URL (a Eureka server behind Spring Security), and go over HTTPS with the node's CA and
 * certificate when the URL says https.
 */
import { sendHttp, type HttpTls } from '../../common/http-request.js';
import { withoutCredentials } from '../../cluster/peer-addresses.js';
import { CLUSTER_SECRET_HEADER } from '../grpc-auth.js';
import type { ReplicaDigestEntry } from '../../core/registry.js';
import type { PeerAnswer, PeerCopy, PeerLink, ReplicationTask, ServiceReplica, SyncChunk } from '../../cluster/peer-link.js';
import { HERALD_NODE_HEADER, type EurekaReplicationItem } from './eureka-replication.js';
import { answerFromEureka, copyFromEureka, inEurekaScope, taskToEurekaItem } from './eureka-peer-codec.js';

const REPLICATION_HEADER = 'x-netflix-discovery-replication';

export class EurekaPeerLink implements PeerLink {
  readonly antiEntropy = false;
  private readonly controllers = new Set<AbortController>();

  /** The Eureka service URL without credentials (for status and logs). */
  readonly address: string;

  constructor(
    /** The Eureka service URL, e.g. `http://eureka-1:8761/eureka` (credentials in it are sent as Basic auth). */
    private readonly url: string,
    /** Namespace whose default-group services are Eureka apps. */
    private readonly namespace: string,
    private readonly deadlineMs: number,
    /** The cluster secret, sent on every call. */
    private readonly secret?: string,
    /** CA bundle and client certificate for https URLs. */
    private readonly tls?: () => HttpTls | undefined,
  ) {
    this.address = withoutCredentials(url);
  }

  private async request(method: 'GET' | 'POST', path: string, deadlineMs: number, body?: unknown): Promise<{ json: unknown; nodeId: string | null }> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const tls = this.tls?.();
    try {
      const res = await sendHttp(`${this.url}${path}`, {
        method,
        signal: controller.signal,
        deadlineMs,
        headers: {
          accept: 'application/json',
          [REPLICATION_HEADER]: 'true',
          ...(this.secret === undefined ? {} : { [CLUSTER_SECRET_HEADER]: this.secret }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(tls === undefined ? {} : { tls }),
      });
      if (res.status < 200 || res.status > 299) throw new Error(`${method} ${this.address}${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
      const node = res.headers[HERALD_NODE_HEADER];
      return { json: res.text === '' ? undefined : (JSON.parse(res.text) as unknown), nodeId: typeof node === 'string' ? node : null };
    } finally {
      this.controllers.delete(controller);
    }
  }

  async replicate(_nodeId: string, tasks: readonly ReplicationTask[]): Promise<{ nodeId: string; answers: PeerAnswer[] }> {
    const answers: PeerAnswer[] = tasks.map(() => ({ kind: 'ok' }));
    const items: EurekaReplicationItem[] = [];
    const positions: number[] = [];
    tasks.forEach((task, i) => {
      if (!inEurekaScope(task, this.namespace)) return;
      items.push(taskToEurekaItem(task));
      positions.push(i);
    });
    if (items.length === 0) return { nodeId: '', answers };
    const { json, nodeId } = await this.request('POST', '/peerreplication/batch', this.deadlineMs, { replicationList: items });
    const list = typeof json === 'object' && json !== null ? (json as { responseList?: unknown }).responseList : undefined;
    if (!Array.isArray(list) || list.length !== items.length) throw new Error(`${this.address} answered a batch of ${items.length} without a responseList of that length`);
    list.forEach((answer, j) => {
      const i = positions[j] ?? 0;
      answers[i] = answerFromEureka(answer, this.namespace, tasks[i]?.ref.service ?? '');
    });
    return { nodeId: nodeId ?? '', answers };
  }

  async *syncRegistry(_nodeId: string, deadlineMs: number): AsyncIterable<SyncChunk> {
    const { json } = await this.request('GET', '/apps', deadlineMs);
    const apps = (json as { applications?: { application?: unknown } } | undefined)?.applications?.application;
    const copies: PeerCopy[] = [];
    for (const app of Array.isArray(apps) ? apps : apps === undefined ? [] : [apps]) {
      const list = (app as { instance?: unknown }).instance;
      for (const info of Array.isArray(list) ? list : list === undefined ? [] : [list]) {
        const c = copyFromEureka(info, this.namespace);
        if (c !== undefined) copies.push(c);
      }
    }
    yield { services: [], copies, tombstones: [] };
  }

  listDigests(): Promise<ReplicaDigestEntry[]> {
    return Promise.reject(new Error('a Eureka peer has no digests (anti-entropy does not run against it)'));
  }

  fetchServices(): Promise<ServiceReplica[]> {
    return Promise.reject(new Error('a Eureka peer has no per-service fetch (anti-entropy does not run against it)'));
  }

  close(): void {
    for (const c of this.controllers) c.abort(new Error('link closed'));
    this.controllers.clear();
  }
}

