/**
 * What the herald:/// resolver follows: one RegistryClient per herald address list and namespace,
 * and on it one watch per service, shared by every channel resolving that service and released with
 * the last of them. Each feed gives the instances that may take calls (the SDK's healthy view, with
 * the protect threshold), or says herald cannot be reached while nothing is known yet.
 */
import { combineLatest, defer, distinctUntilChanged, filter, finalize, map, type Observable, ReplaySubject, share, startWith } from 'rxjs';
import type { ServiceRef } from '../core/model.js';
import type { ServiceSnapshot } from './model.js';
import type { RegistryClientOptions } from './options.js';
import { RegistryClient } from './registry-client.js';
import { healthyInstances } from './selection.js';

/** An address calls may go to, with its weight (the sum over instances sharing it). */
export interface WeightedAddress {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

/** A feed's news: the instances to call (possibly none), or why nothing is known. */
export type Resolution = { readonly kind: 'instances'; readonly addresses: readonly WeightedAddress[] } | { readonly kind: 'unreachable'; readonly details: string };

/** The usable instances of positive weight, one entry per address, in a stable order. */
export function weightedAddresses(snapshot: ServiceSnapshot): WeightedAddress[] {
  const byAddress = new Map<string, WeightedAddress>();
  for (const i of healthyInstances(snapshot).instances) {
    if (!(i.weight > 0)) continue;
    const key = `${i.ip}\n${i.port}`;
    byAddress.set(key, { host: i.ip, port: i.port, weight: (byAddress.get(key)?.weight ?? 0) + i.weight });
  }
  return [...byAddress.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, a]) => a);
}

function sameResolution(a: Resolution, b: Resolution): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class ResolverFeeds {
  private readonly clients = new Map<string, { readonly client: RegistryClient; refs: number }>();
  private readonly feeds = new Map<string, Observable<Resolution>>();

  constructor(private readonly options: Omit<RegistryClientOptions, 'servers' | 'namespace'>) {}

  /** The service's feed: the current resolution first (once known), then each change. */
  feed$(servers: readonly string[], ref: ServiceRef): Observable<Resolution> {
    const key = JSON.stringify([servers, ref.namespace, ref.group, ref.service]);
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      const created: Observable<Resolution> = defer(() => {
        const client = this.acquire(servers, ref.namespace);
        return follow$(client, ref).pipe(
          finalize(() => {
            client.unsubscribe(ref.service, { group: ref.group });
            this.release(servers, ref.namespace);
            if (this.feeds.get(key) === created) this.feeds.delete(key);
          }),
        );
      }).pipe(share({ connector: () => new ReplaySubject<Resolution>(1), resetOnError: true, resetOnComplete: true, resetOnRefCountZero: true }));
      feed = created;
      this.feeds.set(key, feed);
    }
    return feed;
  }

  /** Open clients (one per address list and namespace) and followed services. */
  stats(): { clients: number; services: number } {
    return { clients: this.clients.size, services: this.feeds.size };
  }

  private acquire(servers: readonly string[], namespace: string): RegistryClient {
    const key = JSON.stringify([servers, namespace]);
    let entry = this.clients.get(key);
    if (entry === undefined) {
      entry = { client: new RegistryClient({ ...this.options, servers, namespace }), refs: 0 };
      this.clients.set(key, entry);
    }
    entry.refs++;
    return entry.client;
  }

  private release(servers: readonly string[], namespace: string): void {
    const key = JSON.stringify([servers, namespace]);
    const entry = this.clients.get(key);
    if (entry === undefined || --entry.refs > 0) return;
    this.clients.delete(key);
    void entry.client.close();
  }
}

/** One service on one client: its instances once a snapshot is held; until then, unreachability. */
function follow$(client: RegistryClient, ref: ServiceRef): Observable<Resolution> {
  const snapshots = client.watch$(ref.service, { group: ref.group }).pipe(
    map((e): ServiceSnapshot | undefined => e.snapshot),
    startWith(undefined),
  );
  return combineLatest([snapshots, client.connection$]).pipe(
    map(([snapshot, connection]): Resolution | undefined => {
      if (snapshot !== undefined) return { kind: 'instances', addresses: weightedAddresses(snapshot) };
      if (connection.reachable) return undefined;
      return { kind: 'unreachable', details: connection.lastError ?? `no herald server answers (${client.options.servers.join(', ')})` };
    }),
    filter((r): r is Resolution => r !== undefined),
    distinctUntilChanged(sameResolution),
  );
}
