/**
 * `herald_weighted_round_robin`, a grpc-js load-balancing policy: one connection per endpoint, as
 * round_robin keeps, but calls picked by smooth weighted round robin (nginx's) over the ready ones,
 * by the weights the herald:/// resolver passes as a resolution attribute. Weight 0 takes no calls.
 */
import type * as grpcJs from '@grpc/grpc-js';
import type { ChannelOptions, experimental } from '@grpc/grpc-js';

/** The grpc-js module whose registries the policy and the resolver join (the application's own copy). */
export type GrpcModule = Pick<typeof grpcJs, 'experimental' | 'status' | 'connectivityState'>;

export const WEIGHTED_POLICY = 'herald_weighted_round_robin';

/**
 * The resolution attribute carrying each endpoint's weight, keyed by its addresses
 * (`endpointKey`). grpc-js leaves keys with this prefix out of subchannel options, so a change of
 * weights does not open new connections.
 */
export const WEIGHTS_ATTRIBUTE = 'grpc.internal.no_subchannel.herald_weights';

/** Weights by endpoint key, as the resolver passes them. */
export type EndpointWeights = Readonly<Record<string, number>>;

/** An endpoint's key in EndpointWeights: its addresses, `host:port` each, comma-joined. */
export function endpointKey(grpc: GrpcModule, endpoint: experimental.Endpoint): string {
  return endpoint.addresses.map((a) => grpc.experimental.subchannelAddressToString(a)).join(',');
}

interface Child {
  readonly key: string;
  readonly leaf: experimental.LeafLoadBalancer;
  weight: number;
  /** Smooth weighted round robin's running weight (kept across pickers). */
  current: number;
}

/** The grpc-js copies the policy is registered in. */
const registered = new WeakSet<object>();

/** Registers the policy in `grpc`'s registry, once per copy of grpc-js. */
export function registerWeightedBalancer(grpc: GrpcModule): void {
  const x = grpc.experimental;
  if (registered.has(x)) return;
  registered.add(x);
  const S = grpc.connectivityState;

  class Config implements experimental.TypedLoadBalancingConfig {
    getLoadBalancerName(): string {
      return WEIGHTED_POLICY;
    }
    toJsonObject(): object {
      return { [WEIGHTED_POLICY]: {} };
    }
    static createFromJson(): Config {
      return new Config();
    }
  }

  /** Each pick: every ready child gains its weight, the largest is picked and loses the total. */
  class SmoothPicker implements experimental.Picker {
    private readonly total: number;
    constructor(private readonly ready: readonly Child[]) {
      this.total = ready.reduce((sum, c) => sum + c.weight, 0);
    }
    pick(args: experimental.PickArgs): experimental.PickResult {
      let best = this.ready[0] as Child;
      for (const c of this.ready) {
        c.current += c.weight;
        if (c.current > best.current) best = c;
      }
      best.current -= this.total;
      return best.leaf.getPicker().pick(args);
    }
  }

  class Balancer implements experimental.LoadBalancer {
    private children: Child[] = [];
    private state: grpcJs.connectivityState = S.IDLE;
    private paused = false;
    private lastError: string | null = null;
    /** What the calls go to (the resolver's resolution note), for messages. */
    private note = '';
    private readonly childHelper: experimental.ChannelControlHelper;

    constructor(private readonly helper: experimental.ChannelControlHelper) {
      this.childHelper = x.createChildChannelControlHelper(helper, {
        updateState: (state, _picker, errorMessage) => {
          // A connection dropped: ask the resolver again, as round_robin does.
          if (this.state === S.READY && state !== S.READY) this.helper.requestReresolution();
          if (errorMessage !== null && errorMessage !== '') this.lastError = errorMessage;
          this.refresh();
        },
      });
    }

    updateAddressList(endpoints: experimental.StatusOr<experimental.Endpoint[]>, config: experimental.TypedLoadBalancingConfig, options: ChannelOptions, note: string): boolean {
      if (config.getLoadBalancerName() !== WEIGHTED_POLICY) return false;
      if (!endpoints.ok) {
        // A resolution error keeps the endpoints held (herald unreachable: the last list stands).
        if (this.children.length === 0) this.publish(S.TRANSIENT_FAILURE, new x.UnavailablePicker(endpoints.error), endpoints.error.details);
        return true;
      }
      const weights = (options[WEIGHTS_ATTRIBUTE] ?? {}) as EndpointWeights;
      const old = new Map(this.children.map((c) => [c.key, c]));
      const next: Child[] = [];
      this.paused = true;
      for (const endpoint of endpoints.value) {
        const key = endpointKey(grpc, endpoint);
        const weight = weights[key] ?? 1;
        if (!(weight > 0) || next.some((c) => c.key === key)) continue;
        const held = old.get(key);
        old.delete(key);
        if (held !== undefined) {
          held.weight = weight;
          next.push(held);
        } else {
          const leaf = new x.LeafLoadBalancer(endpoint, this.childHelper, options, note);
          next.push({ key, leaf, weight, current: 0 });
          leaf.startConnecting();
        }
      }
      for (const c of old.values()) c.leaf.destroy();
      this.children = next;
      this.note = note;
      this.paused = false;
      this.refresh();
      return true;
    }

    private refresh(): void {
      if (this.paused) return;
      const about = this.note === '' ? WEIGHTED_POLICY : this.note;
      const ready = this.children.filter((c) => c.leaf.getConnectivityState() === S.READY);
      if (ready.length > 0) {
        this.publish(S.READY, new SmoothPicker(ready), null);
      } else if (this.children.length === 0) {
        const details = `${about}: no instance can take calls (none registered, usable, or of positive weight)`;
        this.publish(S.TRANSIENT_FAILURE, new x.UnavailablePicker({ details }), details);
      } else if (this.children.some((c) => c.leaf.getConnectivityState() === S.CONNECTING)) {
        this.publish(S.CONNECTING, new x.QueuePicker(this), null);
      } else if (this.children.some((c) => c.leaf.getConnectivityState() === S.TRANSIENT_FAILURE)) {
        const details = `${about}: no instance reachable; last error: ${this.lastError ?? 'none'}`;
        this.publish(S.TRANSIENT_FAILURE, new x.UnavailablePicker({ details }), details);
      } else {
        this.publish(S.IDLE, new x.QueuePicker(this), null);
      }
      // Keep every endpoint connected, as round_robin does.
      for (const c of this.children) if (c.leaf.getConnectivityState() === S.IDLE) c.leaf.exitIdle();
    }

    private publish(state: grpcJs.connectivityState, picker: experimental.Picker, errorMessage: string | null): void {
      this.state = state;
      this.helper.updateState(state, picker, errorMessage);
    }

    exitIdle(): void {
      for (const c of this.children) if (c.leaf.getConnectivityState() === S.IDLE) c.leaf.exitIdle();
    }

    resetBackoff(): void {
      // The leaves' subchannels hold the back-off.
    }

    destroy(): void {
      for (const c of this.children) c.leaf.destroy();
      this.children = [];
    }

    getTypeName(): string {
      return WEIGHTED_POLICY;
    }
  }

  x.registerLoadBalancerType(WEIGHTED_POLICY, Balancer, Config);
}
