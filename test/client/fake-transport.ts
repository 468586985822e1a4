/**
 * A registry double for SDK unit tests, on a VirtualTimeScheduler: each server holds services,
 * answers after `latencyMs` of virtual time, can be taken down, and pushes on demand.
 */
import { map, Observable, Subject, VirtualTimeScheduler } from 'rxjs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Instance, InstanceStatus, ServiceInfo, type DeepPartial } from '../../src/gen/herald/v1/model.js';
import { instanceFromWire, snapshotFromWire } from '../../src/client/codec.js';
import type { InstanceSpec, InstanceStatus as StatusName, ServiceInstance, ServiceSettings, ServiceSnapshot, ServiceSummary } from '../../src/client/model.js';
import type { InstanceCall, ServiceCall, Transport } from '../../src/client/transport.js';

export const unavailable = (): Error => Object.assign(new Error('unavailable'), { code: GrpcStatus.UNAVAILABLE, details: 'connection refused' });

export function host(id: string, extra: DeepPartial<Instance> = {}): Instance {
  return Instance.fromPartial({
    instanceId: id,
    ip: '10.0.0.1',
    port: 80,
    weight: 1,
    healthy: true,
    enabled: true,
    cluster: 'DEFAULT',
    status: InstanceStatus.INSTANCE_STATUS_UP,
    ...extra,
  });
}

/** Runs virtual time up to `t`, letting promise continuations run between scheduled actions. */
export async function advanceTo(scheduler: VirtualTimeScheduler, t: number): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    scheduler.maxFrames = t;
    scheduler.flush();
    await new Promise((r) => setImmediate(r));
    if (!scheduler.actions.some((a) => a.delay <= t)) break;
  }
  // Let the clock read `t` even if nothing was scheduled exactly then.
  if (scheduler.frame < t) scheduler.frame = t;
}

/**
 * Holds services as herald.v1 messages (so tests build hosts with `host()`), and answers through
 * the SDK's Transport in the SDK's terms, as grpcTransport does.
 */
export class FakeServer implements Transport {
  down = false;
  latencyMs = 10;
  readonly services = new Map<string, ServiceInfo>();
  readonly calls: string[] = [];
  readonly registered = new Map<string, InstanceSpec>();
  /** The last dirty timestamp each instance was registered with. */
  readonly lastDirty = new Map<string, number>();
  private readonly streams = new Map<string, Set<Subject<ServiceInfo>>>();
  private revision = 0;

  constructor(
    readonly address: string,
    private readonly scheduler: VirtualTimeScheduler,
  ) {}

  /** Sets a service's hosts as of now (new revision and lastRefTime), without pushing. */
  setHosts(service: string, hosts: Instance[], extra: Partial<ServiceInfo> = {}): ServiceInfo {
    this.revision++;
    const info = ServiceInfo.fromPartial({
      namespace: 'public',
      group: 'DEFAULT_GROUP',
      name: service,
      hosts,
      revision: this.revision,
      lastRefTime: this.scheduler.now() + this.revision,
      cacheMillis: 10_000,
      ...extra,
    });
    this.services.set(service, info);
    return info;
  }

  /** Sets hosts and pushes them to every open stream of the service. */
  push(service: string, hosts: Instance[], extra: Partial<ServiceInfo> = {}): ServiceInfo {
    const info = this.setHosts(service, hosts, extra);
    for (const s of this.streams.get(service) ?? []) s.next(info);
    return info;
  }

  /** Breaks every open stream (as a server going away does). */
  breakStreams(): void {
    for (const set of this.streams.values()) for (const s of [...set]) s.error(unavailable());
  }

  openStreams(service: string): number {
    return this.streams.get(service)?.size ?? 0;
  }

  private answer<T>(name: string, value: () => T): Promise<T> {
    this.calls.push(`${name}@${this.scheduler.now()}`);
    const downNow = this.down;
    const snapshotNow = downNow ? undefined : value();
    return new Promise<T>((resolve, reject) => {
      this.scheduler.schedule(() => {
        if (this.down || downNow) reject(unavailable());
        else resolve(snapshotNow as T);
      }, this.latencyMs);
    });
  }

  private info(service: string): ServiceInfo {
    return this.services.get(service) ?? ServiceInfo.fromPartial({ name: service, group: 'DEFAULT_GROUP', namespace: 'public', cacheMillis: 10_000 });
  }

  getService(req: ServiceCall): Promise<ServiceSnapshot> {
    // The snapshot is taken when the request arrives, as a real server would answer.
    return this.answer(`get:${req.service}`, () => snapshotFromWire(this.info(req.service)));
  }

  register(spec: InstanceSpec, lastDirtyTimestamp = 0): Promise<{ instance: ServiceInstance; leaseExpiresAt: number }> {
    return this.answer(`register:${spec.instanceId ?? ''}`, () => {
      const id = spec.instanceId ?? '';
      this.registered.set(id, spec);
      this.lastDirty.set(id, lastDirtyTimestamp);
      const described = { weight: spec.weight ?? 1, metadata: { ...spec.metadata }, ...(spec.enabled === undefined ? {} : { enabled: spec.enabled }) };
      return { instance: instanceFromWire(host(id, { lease: { durationMs: 90_000, renewalIntervalMs: 30_000 }, ...described })), leaseExpiresAt: this.scheduler.now() + 90_000 };
    });
  }

  renew(req: InstanceCall): Promise<{ leaseExpiresAt: number; renewalIntervalMs: number }> {
    if (!this.down && !this.registered.has(req.instanceId)) {
      this.calls.push(`renew:${req.instanceId}@${this.scheduler.now()}`);
      return Promise.reject(Object.assign(new Error('nf'), { code: GrpcStatus.NOT_FOUND, details: 'not registered' }));
    }
    return this.answer(`renew:${req.instanceId}`, () => ({ leaseExpiresAt: this.scheduler.now() + 90_000, renewalIntervalMs: 30_000 }));
  }

  setStatus(req: InstanceCall & { readonly status: StatusName }): Promise<ServiceInstance> {
    return this.answer(`setStatus:${req.instanceId}:${req.status}`, () => ({ ...instanceFromWire(host(req.instanceId)), status: req.status, overriddenStatus: req.status }));
  }

  deleteStatusOverride(req: InstanceCall & { readonly status?: StatusName }): Promise<ServiceInstance> {
    return this.answer(`deleteStatusOverride:${req.instanceId}:${req.status ?? ''}`, () => ({ ...instanceFromWire(host(req.instanceId)), status: req.status ?? 'UP' }));
  }

  updateService(req: ServiceSettings & { readonly namespace: string; readonly group: string }): Promise<ServiceSummary> {
    return this.answer(`updateService:${req.group}@@${req.service}:${req.protectThreshold ?? 0}`, () => ({
      namespace: req.namespace,
      group: req.group,
      name: req.service,
      instanceCount: 0,
      healthyInstanceCount: 0,
      clusters: [],
      revision: 1,
      protectThreshold: req.protectThreshold ?? 0,
      metadata: { ...req.metadata },
    }));
  }

  cancel(req: InstanceCall): Promise<void> {
    return this.answer(`cancel:${req.instanceId}`, () => {
      this.registered.delete(req.instanceId);
    });
  }

  subscribe(req: ServiceCall): Observable<ServiceSnapshot> {
    return this.subscribeWire(req).pipe(map(snapshotFromWire));
  }

  private subscribeWire(req: ServiceCall): Observable<ServiceInfo> {
    return new Observable<ServiceInfo>((subscriber) => {
      this.calls.push(`subscribe:${req.service}@${this.scheduler.now()}`);
      if (this.down) {
        subscriber.error(unavailable());
        return undefined;
      }
      const s = new Subject<ServiceInfo>();
      const set = this.streams.get(req.service) ?? new Set();
      this.streams.set(req.service, set);
      set.add(s);
      const sub = s.subscribe(subscriber);
      this.scheduler.schedule(() => {
        s.next(this.info(req.service));
      }, this.latencyMs);
      return () => {
        sub.unsubscribe();
        set.delete(s);
      };
    });
  }

  close(): void {
    this.calls.push('close');
  }
}
