/**
 * The `herald:///<name>` resolver for grpc-js: a channel to `herald:///orders` follows service
 * orders by herald's push (the SDK's watch) and load-balances over its usable instances by weight,
 * with no xDS bootstrap. Names are herald's xDS names; see docs/client.md.
 */
import * as grpcJs from '@grpc/grpc-js';
import type { ChannelOptions, experimental } from '@grpc/grpc-js';
import type { Subscription } from 'rxjs';
import type { ServiceRef } from '../core/model.js';
import { serviceOfXdsName } from '../core/service-name.js';
import type { RegistryClientOptions } from './options.js';
import { ResolverFeeds, type Resolution } from './resolver-feeds.js';
import { endpointKey, registerWeightedBalancer, WEIGHTED_POLICY, WEIGHTS_ATTRIBUTE, type GrpcModule } from './weighted-balancer.js';

export { WEIGHTED_POLICY } from './weighted-balancer.js';
export type { GrpcModule } from './weighted-balancer.js';

export const HERALD_SCHEME = 'herald';

export interface HeraldResolverOptions extends Omit<RegistryClientOptions, 'servers' | 'namespace'> {
  /**
   * herald's gRPC addresses (host:port), for targets that name none (`herald:///orders`); a target
   * naming them (`herald://10.0.0.5:7070,10.0.0.6:7070/orders`) uses its own.
   */
  readonly servers?: readonly string[];
  /**
   * The application's `@grpc/grpc-js` module. grpc-js keeps resolvers and policies in module-global
   * registries, so they must be registered in the copy the application's channels come from.
   * Default: the copy this package resolves, the same one when npm deduplicates them.
   */
  readonly grpc?: GrpcModule;
}

/** The registration: counters of what its channels share. */
export interface HeraldResolver {
  /** Open registry clients (one per herald address list and namespace) and followed services. */
  stats(): { clients: number; services: number };
}

/**
 * Registers the `herald` scheme (and the `herald_weighted_round_robin` policy) in grpc-js, so that
 * `new Client('herald:///orders', credentials)` resolves through herald. A later registration
 * replaces this one for channels created after it.
 */
export function registerHeraldResolver(options: HeraldResolverOptions = {}): HeraldResolver {
  const { grpc = grpcJs, servers, ...clientOptions } = options;
  // A service whose last instance goes fails calls, as xDS clients do; the SDK's default keeps the last list.
  const feeds = new ResolverFeeds({ ...clientOptions, emptyPushProtection: clientOptions.emptyPushProtection ?? false });
  registerWeightedBalancer(grpc);
  const x = grpc.experimental;
  const serviceConfig = x.statusOrFromValue({ loadBalancingConfig: [{ [WEIGHTED_POLICY]: {} }], methodConfig: [] });

  class HeraldGrpcResolver implements experimental.Resolver {
    private readonly name: string;
    private readonly ref: ServiceRef | undefined;
    private readonly servers: readonly string[];
    private readonly invalid: string | undefined;
    private subscription: Subscription | undefined;
    private latest: Resolution | undefined;
    /** Bumped by destroy(), so a report scheduled before it is dropped. */
    private generation = 0;

    constructor(
      target: experimental.GrpcUri,
      private readonly listener: experimental.ResolverListener,
      _options: ChannelOptions,
    ) {
      this.name = x.uriToString(target);
      this.ref = serviceOfXdsName(target.path);
      this.servers = target.authority !== undefined && target.authority !== '' ? target.authority.split(',') : (servers ?? []);
      if (this.ref === undefined) {
        this.invalid = `${this.name}: '${target.path}' is not a herald service name; expected service, group@@service or namespace@@group@@service (letters, digits, '.', '_', '-', ':')`;
      } else if (this.servers.length === 0) {
        this.invalid = `${this.name}: no herald server to ask; pass registerHeraldResolver({ servers }) or name them in the target (herald://host:port/service)`;
      }
    }

    updateResolution(): void {
      const ref = this.ref;
      if (this.invalid !== undefined || ref === undefined) {
        this.schedule(undefined);
      } else if (this.subscription === undefined) {
        const subscription = feeds.feed$(this.servers, ref).subscribe({
          next: (r) => {
            this.latest = r;
            this.schedule(r);
          },
          // Not expected (the SDK retries on its own); reported, and followed again on the next request.
          error: (e: unknown) => {
            this.subscription = undefined;
            this.latest = undefined;
            this.schedule({ kind: 'unreachable', details: e instanceof Error ? e.message : String(e) });
          },
        });
        if (!subscription.closed) this.subscription = subscription;
      } else if (this.latest !== undefined) {
        this.schedule(this.latest);
      }
    }

    destroy(): void {
      this.generation++;
      this.subscription?.unsubscribe();
      this.subscription = undefined;
      this.latest = undefined;
    }

    /** Reports on the next tick: grpc-js forbids calling the listener from updateResolution. */
    private schedule(r: Resolution | undefined): void {
      const generation = this.generation;
      process.nextTick(() => {
        if (generation === this.generation) this.report(r);
      });
    }

    private report(r: Resolution | undefined): void {
      const ref = this.ref;
      if (r === undefined || ref === undefined) {
        this.listener(x.statusOrFromError({ code: grpc.status.UNAVAILABLE, details: this.invalid ?? this.name }), {}, serviceConfig, '');
      } else if (r.kind === 'unreachable') {
        const details = `${this.name}: cannot reach herald to resolve it: ${r.details}`;
        this.listener(x.statusOrFromError({ code: grpc.status.UNAVAILABLE, details }), {}, serviceConfig, '');
      } else {
        const endpoints = r.addresses.map((a) => ({ addresses: [{ host: a.host, port: a.port }] }));
        const weights = Object.fromEntries(endpoints.map((e, i) => [endpointKey(grpc, e), r.addresses[i]?.weight ?? 0]));
        const note = `${this.name} (service ${ref.service}, group ${ref.group}, namespace ${ref.namespace})`;
        this.listener(x.statusOrFromValue(endpoints), { [WEIGHTS_ATTRIBUTE]: weights }, serviceConfig, note);
      }
    }

    /** The :authority of calls: the service name. */
    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return target.path;
    }
  }

  x.registerResolver(HERALD_SCHEME, HeraldGrpcResolver);
  return { stats: () => feeds.stats() };
}
