/**
 * A link to a Eureka server (or another herald's Eureka API) as a cluster peer, over Eureka's REST
 * API: replication batches go to `<serviceUrl>/peerreplication/batch` with the
 * `x-netflix-discovery-replication` header, the start-up sync reads `<serviceUrl>/apps`. Only apps
 * of the Eureka namespace's default group travel; other tasks are answered OK here, since a Eureka
 * server has no place for them. Eureka has no checksums, so anti-entropy does not run against such
 * a peer (as between Eureka servers, heartbeats answered 404 re-send the registration instead).
 */
import { ReplicationOutcome, type FetchServicesResponse, type ListChecksumsResponse, type ReplicateRequest, type ReplicateResponse, type ReplicatedInstance, type ReplicationResult, type SyncRegistryResponse } from '../gen/herald/v1/peer_service.js';
import { HERALD_NODE_HEADER, type EurekaReplicationItem } from '../server/eureka/eureka-replication.js';
import type { PeerLink } from './peer-link.js';
import { inEurekaScope, replicatedFromEureka, resultFromEureka, taskToEurekaItem } from './eureka-peer-codec.js';

const REPLICATION_HEADER = 'x-netflix-discovery-replication';

const OK: ReplicationResult = { outcome: ReplicationOutcome.REPLICATION_OUTCOME_OK, message: '', serverCopy: undefined, tombstone: undefined };

/** Parses `http://host:port/path` (no trailing slash kept). Throws RangeError naming a bad entry. */
export function parseEurekaPeers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new RangeError(`Eureka peer "${entry}" must be a URL such as http://host:8761/eureka`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`Eureka peer "${entry}" must be an http:// or https:// URL`);
    out.push(`${url.origin}${url.pathname.replace(/\/+$/, '')}`);
  }
  return [...new Set(out)];
}

export class EurekaPeerLink implements PeerLink {
  readonly antiEntropy = false;
  private readonly controllers = new Set<AbortController>();

  constructor(
    /** The Eureka service URL, e.g. `http://eureka-1:8761/eureka`. */
    readonly address: string,
    /** Namespace whose default-group services are Eureka apps. */
    private readonly namespace: string,
    private readonly deadlineMs: number,
  ) {}

  private async request(method: 'GET' | 'POST', path: string, deadlineMs: number, body?: unknown): Promise<{ json: unknown; nodeId: string | null }> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => {
      controller.abort(new Error(`no answer from ${this.address} within ${deadlineMs} ms`));
    }, deadlineMs);
    try {
      const res = await fetch(`${this.address}${path}`, {
        method,
        signal: controller.signal,
        headers: { accept: 'application/json', [REPLICATION_HEADER]: 'true', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${this.address}${path} answered ${res.status}: ${text.slice(0, 200)}`);
      return { json: text === '' ? undefined : (JSON.parse(text) as unknown), nodeId: res.headers.get(HERALD_NODE_HEADER) };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  async replicate(req: ReplicateRequest): Promise<ReplicateResponse> {
    const results: ReplicationResult[] = req.tasks.map(() => OK);
    const items: EurekaReplicationItem[] = [];
    const positions: number[] = [];
    req.tasks.forEach((task, i) => {
      const item = inEurekaScope(task, this.namespace) ? taskToEurekaItem(task) : undefined;
      if (item === undefined) return;
      items.push(item);
      positions.push(i);
    });
    if (items.length === 0) return { nodeId: '', results };
    const { json, nodeId } = await this.request('POST', '/peerreplication/batch', this.deadlineMs, { replicationList: items });
    const list = typeof json === 'object' && json !== null ? (json as { responseList?: unknown }).responseList : undefined;
    if (!Array.isArray(list) || list.length !== items.length) throw new Error(`${this.address} answered a batch of ${items.length} without a responseList of that length`);
    list.forEach((answer, j) => {
      const i = positions[j] ?? 0;
      const result = resultFromEureka(answer, this.namespace);
      const target = req.tasks[i]?.target;
      // A 409's copy is of the task's own instance; Eureka upper-cases the app name, herald may not.
      results[i] = result.serverCopy === undefined || target === undefined ? result : { ...result, serverCopy: { ...result.serverCopy, service: target.service } };
    });
    return { nodeId: nodeId ?? '', results };
  }

  async *syncRegistry(nodeId: string, deadlineMs: number): AsyncIterable<SyncRegistryResponse> {
    const { json } = await this.request('GET', '/apps', deadlineMs);
    const apps = (json as { applications?: { application?: unknown } } | undefined)?.applications?.application;
    const instances: ReplicatedInstance[] = [];
    for (const app of Array.isArray(apps) ? apps : apps === undefined ? [] : [apps]) {
      const list = (app as { instance?: unknown }).instance;
      for (const info of Array.isArray(list) ? list : list === undefined ? [] : [list]) {
        const r = replicatedFromEureka(info, this.namespace);
        if (r !== undefined) instances.push(r);
      }
    }
    yield { nodeId, instances, services: [], tombstones: [] };
  }

  listChecksums(): Promise<ListChecksumsResponse> {
    return Promise.reject(new Error('a Eureka peer has no checksums (anti-entropy does not run against it)'));
  }

  fetchServices(): Promise<FetchServicesResponse> {
    return Promise.reject(new Error('a Eureka peer has no per-service fetch (anti-entropy does not run against it)'));
  }

  close(): void {
    for (const c of this.controllers) c.abort(new Error('link closed'));
    this.controllers.clear();
  }
}
