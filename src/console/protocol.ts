/**
 * What the console's JSON API and event stream send the page: plain JSON, times in ms since the
 * epoch by the server's clock (`now` in each message lets the page show ages without trusting its
 * own clock). Shared by the server's codec (src/server/console/console-json.ts) and the page: types
 * and constants only, neither DOM nor Node, so either side can import it.
 */

export interface SessionJson {
  /** Whether the server checks credentials. */
  readonly auth: boolean;
  /** Who the request's credentials name ('anonymous' without any). */
  readonly user: string;
  /** Whether the caller may see the node and its peers (admin of every namespace, or auth off). */
  readonly clusterView: boolean;
}

export interface LoginJson {
  readonly token: string;
  readonly ttlMs: number;
  readonly user: string;
}

export interface NamespaceJson {
  readonly name: string;
  readonly services: number;
  readonly instances: number;
}

export interface NamespacesJson {
  /** The namespaces the caller may read. */
  readonly namespaces: readonly NamespaceJson[];
}

export interface ServiceRowJson {
  readonly group: string;
  readonly name: string;
  readonly instances: number;
  /** Healthy instances (the healthy share is healthy / instances). */
  readonly healthy: number;
  readonly clusters: readonly string[];
  readonly revision: number;
}

export interface ServicesJson {
  readonly namespace: string;
  readonly now: number;
  /** Ordered by group, then name. */
  readonly services: readonly ServiceRowJson[];
}

export interface InstanceJson {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  readonly cluster: string;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  /** Effective status. */
  readonly status: string;
  /** The operator's override, or null. */
  readonly overriddenStatus: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** When the lease began (registration); the lease's age is `now - registeredAt`. */
  readonly registeredAt: number;
  /** When the server last changed the record. */
  readonly updatedAt: number;
  readonly leaseDurationMs: number;
  readonly renewalIntervalMs: number;
  /** The identity that registered it ('' without authentication). */
  readonly registrant: string;
  /** The API it was registered through: grpc, nacos, eureka, or '' when not known. */
  readonly transport: string;
}

/** One service in full (the first event of a service stream, and GET /console/api/service). */
export interface ServiceJson {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
  readonly revision: number;
  readonly protectThreshold: number;
  readonly now: number;
  /** Sorted by id. */
  readonly instances: readonly InstanceJson[];
}

/** What changed in a service since the last event of the stream. */
export interface ServiceDeltaJson {
  readonly revision: number;
  readonly now: number;
  /** Added or changed instances. */
  readonly upserts: readonly InstanceJson[];
  /** Ids of removed instances. */
  readonly removed: readonly string[];
}

export interface PeerJson {
  readonly address: string;
  readonly nodeId: string;
  readonly state: string;
  /** Replication tasks waiting or in flight. */
  readonly queueDepth: number;
  readonly failures: number;
  readonly dropped: number;
  readonly lastSuccessAt: number;
  /** The last failure ('' when none, or the peer is up again). */
  readonly lastError: string;
}

export interface NodeJson {
  readonly nodeId: string;
  readonly now: number;
  readonly namespaces: number;
  readonly services: number;
  readonly instances: number;
  readonly subscribers: number;
  readonly selfPreservation: {
    readonly enabled: boolean;
    readonly active: boolean;
    readonly renewsLastMinute: number;
    readonly renewsThreshold: number;
    readonly expectedRenewsPerMinute: number;
  };
  readonly eviction: {
    readonly intervalMs: number;
    readonly evictedTotal: number;
    /** The last run; null before the first one. */
    readonly last: { readonly at: number; readonly expired: number; readonly evicted: number; readonly outcome: string; readonly reason: string } | null;
  };
  readonly synced: boolean;
  readonly peers: readonly PeerJson[];
}

/** The events of GET /console/api/events, by SSE event name. */
export interface ConsoleEvents {
  /** The namespace's service list (latest wins; at most one per summary interval). */
  readonly services: ServicesJson;
  /** The watched service in full: first, and after the stream fell behind by a whole service. */
  readonly service: ServiceJson;
  /** What changed in the watched service since the previous service or service-delta event. */
  readonly 'service-delta': ServiceDeltaJson;
  /** The node (only to callers with the cluster view). */
  readonly node: NodeJson;
}

/** The body of the instance actions (PUT/DELETE /console/api/instance/status, DELETE /console/api/instance). */
export interface InstanceActionJson {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  readonly instanceId: string;
}

/** An error answer. */
export interface ErrorJson {
  readonly error: string;
}

/** The header every console action carries (a cross-site form cannot set it; see docs/console.md). */
export const ACTION_HEADER = 'x-herald-console';
