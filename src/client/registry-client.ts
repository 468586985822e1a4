/**
 * The herald client SDK (Nacos's HostReactor with Eureka's heartbeats, on RxJS): a local cache of
 * the services the application uses, kept fresh by push (a watch per key, over one Watch stream per server) with a poll
 * fallback, the updating guard for concurrent first reads, registrations that heartbeat, redo
 * after reconnects, a disk failover copy, and selection helpers. Every timer runs on the injected
 * scheduler; `close()` releases streams, timers, sockets and leases.
 */
import {
  catchError,
  concat,
  defaultIfEmpty,
  defer,
  EMPTY,
  filter,
  firstValueFrom,
  from,
  lastValueFrom,
  map,
  merge,
  type Observable,
  of,
  Subject,
  type Subscription,
  switchMap,
  takeUntil,
  timeout,
} from 'rxjs';
import { cacheKey, type ServiceQuery } from './cache-key.js';
import { ClientClosedError, ServiceInfoUnavailableError } from './errors.js';
import { FailoverCache } from './failover-cache.js';
import { DEFAULT_CLUSTER, DEFAULT_GROUP, deriveInstanceId } from '../core/model.js';
import type { InstanceRef, InstanceSpec, InstanceStatus, ServiceInstance, ServiceSettings, ServiceSnapshot, ServiceSummary } from './model.js';
import { channelReconnectBackoff, resolveClientOptions, type RegistryClientOptions, type ResolvedClientOptions } from './options.js';
import { PushStreams } from './push-streams.js';
import { Registration, type RegistrationCalls, type RegistrationState, type RegistrationUpdate } from './registration.js';
import { grpcTransport } from './transport.js';
import { PullGuard } from './pull-guard.js';
import { healthyInstances, pickWeighted } from './selection.js';
import { ServerList, type ConnectionState } from './server-list.js';
import { ServiceCache, type ServiceChangeEvent, type SnapshotSource } from './service-cache.js';
import { UpdateTasks } from './update-tasks.js';
import { UdpReceiver } from './udp-receiver.js';

/** A read from the cache. */
export interface ServiceInfoResult {
  readonly snapshot: ServiceSnapshot;
  /** True when served while no server is reachable, from disk, or in failover mode. */
  readonly stale: boolean;
  readonly source: SnapshotSource;
}

export interface GetServiceInfoOptions extends ServiceQuery {
  /** Keep the key fresh by push (and poll) after this read. Default true. */
  readonly subscribe?: boolean;
}

/** A registered instance kept alive by heartbeats. */
export interface RegistrationHandle {
  /** The instance id: as given, or as the server derived it once registered. */
  readonly instanceId: string | undefined;
  /**
   * Current state; `state$` replays it and follows changes, completing after deregistration or
   * rejection (`rejected`: the server refused it with a permanent error, see docs/client.md).
   */
  readonly state: RegistrationState;
  readonly state$: Observable<RegistrationState>;
  /**
   * Changes the registered instance in place (its metadata, weight, enabled or healthy flag): the
   * same instance id and lease, registered again at once with a newer dirty timestamp, and renewed
   * by this same handle. Resolves with the instance as the server stored it; while no server answers
   * it waits, as registration does. Rejects when the registration has ended, or when the server
   * refuses the change, which ends the registration as a refused register does (`rejected`).
   */
  update(changes: RegistrationUpdate): Promise<ServiceInstance>;
  /** Cancels the lease and stops heartbeats. Idempotent. */
  deregister(): Promise<void>;
}

/** register() was asked for an instance a live handle of this client already keeps registered. */
export class DuplicateRegistrationError extends Error {
  constructor(readonly instanceId: string) {
    super(`instance ${instanceId} is already registered by this client; change it with the handle's update(), or deregister() it first`);
    this.name = 'DuplicateRegistrationError';
  }
}

export class RegistryClient {
  readonly options: ResolvedClientOptions;
  private readonly servers: ServerList;
  private readonly cache: ServiceCache;
  private readonly disk: FailoverCache | undefined;
  private readonly tasks: UpdateTasks;
  private readonly pushes: PushStreams;
  private readonly pulls: PullGuard;
  private readonly pins = new Map<string, Subscription>();
  private readonly registrations = new Set<Registration>();
  /** Live registrations by `namespace\ngroup@@service\ninstanceId` (the id given or the one the server would derive). */
  private readonly registered = new Map<string, Registration>();
  private readonly redo: Subscription;
  /** The UDP push receiver ('udp' mode), once bound; undefined if binding failed. */
  private readonly udpReady: Promise<UdpReceiver | undefined> | undefined;
  private udpReceiver: UdpReceiver | undefined;
  private failoverOn = false;
  private closing: Promise<void> | undefined;
  /** Emits once on close(): completes every watch$. */
  private readonly closed$ = new Subject<void>();

  constructor(options: RegistryClientOptions) {
    const o = resolveClientOptions(options);
    this.options = o;
    // The channel reconnects on the SDK's own retry bound, not grpc-js's (up to 120 s).
    const reconnectBackoff = channelReconnectBackoff(o);
    const factory =
      o.transportFactory ??
      ((address: string) => grpcTransport(address, { deadlineMs: o.callTimeoutMs, reconnectBackoff, ...(o.security === undefined ? {} : { security: o.security }) }));
    this.servers = new ServerList(o.servers, factory, o.logger);
    this.disk = o.cacheDir === undefined ? undefined : new FailoverCache(o.cacheDir, o.namespace, o.logger);
    const disk = this.disk;
    this.cache = new ServiceCache({
      emptyPushProtection: o.emptyPushProtection,
      now: () => o.scheduler.now(),
      logger: o.logger,
      ...(disk === undefined
        ? {}
        : {
            onStored: (key: string, snapshot: ServiceSnapshot) => {
              disk.write(key, snapshot);
            },
          }),
    });
    if (o.loadCacheAtStart && disk !== undefined) {
      for (const [key, snapshot] of disk.loadAllSync()) this.cache.seed(key, snapshot);
    }
    this.tasks = new UpdateTasks({
      scheduler: o.scheduler,
      cache: this.cache,
      fetch: (key) => this.fetch$(key),
      minIntervalMs: o.pollIntervalMinMs,
      maxIntervalMs: o.pollIntervalMaxMs,
      logger: o.logger,
      pullAfterPush: o.mode === 'udp',
    });
    this.pushes = new PushStreams({
      servers: this.servers,
      cache: this.cache,
      namespace: o.namespace,
      scheduler: o.scheduler,
      logger: o.logger,
      backoffBaseMs: Math.min(500, o.resubscribeBackoffMaxMs),
      backoffMaxMs: o.resubscribeBackoffMaxMs,
    });
    this.udpReady =
      o.mode === 'udp'
        ? UdpReceiver.start(o.logger, o.udpBindHost).then(
            (receiver) => {
              if (this.closing !== undefined) {
                receiver.close();
                return undefined;
              }
              this.udpReceiver = receiver;
              receiver.pushes$.subscribe((push) => {
                if (push.snapshot.namespace === o.namespace) this.cache.apply(push.key, push.snapshot, 'push', this.servers.current);
              });
              return receiver;
            },
            (e: unknown) => {
              o.logger.error({ err: e }, 'cannot bind the UDP push receiver; polling only');
              return undefined;
            },
          )
        : undefined;
    const udpReady = this.udpReady;
    this.pulls = new PullGuard({
      servers: this.servers,
      cache: this.cache,
      namespace: o.namespace,
      udpPort: udpReady === undefined ? undefined : udpReady.then((r) => r?.port),
    });
    // Nacos's redo: after contact is restored (a server came back, or another took over),
    // register again everything this client owns. Idempotent on the server.
    this.redo = this.servers.reconnected$.subscribe(() => {
      for (const r of this.registrations) r.redo();
    });
  }

  // ------------------------------------------------------------------ registration

  /**
   * Registers an instance and keeps it alive until deregistered or the client closes. One instance
   * has one handle: registering again an instance this client already keeps registered (same
   * namespace, group, service and instance id, given or derived from ip, port and cluster) throws
   * DuplicateRegistrationError; use the handle's update() to change it.
   */
  register(spec: InstanceSpec): RegistrationHandle {
    this.assertOpen();
    const namespace = spec.namespace ?? this.options.namespace;
    const group = spec.group === undefined || spec.group === '' ? DEFAULT_GROUP : spec.group;
    const instanceId =
      spec.instanceId === undefined || spec.instanceId === ''
        ? deriveInstanceId(spec.ip, spec.port, spec.cluster === undefined || spec.cluster === '' ? DEFAULT_CLUSTER : spec.cluster, group, spec.service)
        : spec.instanceId;
    const ownKey = `${namespace}\n${group}@@${spec.service}\n${instanceId}`;
    if (this.registered.has(ownKey)) throw new DuplicateRegistrationError(instanceId);
    const calls: RegistrationCalls = {
      register: (spec, dirty) => this.servers.call((t) => t.register(spec, dirty)).pipe(map((r) => r.value)),
      renew: (call) => this.servers.call((t) => t.renew(call)).pipe(map((r) => r.value)),
      cancel: (call) => this.servers.call((t) => t.cancel(call)).pipe(map((r) => r.value)),
    };
    const registration = new Registration({ ...spec, namespace }, calls, {
      scheduler: this.options.scheduler,
      logger: this.options.logger,
      backoffMaxMs: this.options.heartbeatBackoffMaxMs,
      random: this.options.random,
    });
    this.registrations.add(registration);
    this.registered.set(ownKey, registration);
    const registrations = this.registrations;
    const registered = this.registered;
    const release = (): void => {
      registrations.delete(registration);
      if (registered.get(ownKey) === registration) registered.delete(ownKey);
    };
    // Deregistered or rejected: the client no longer owns it.
    registration.state$.subscribe({ complete: release });
    return {
      get instanceId() {
        return registration.instanceId;
      },
      get state() {
        return registration.state;
      },
      state$: registration.state$,
      update: (changes) => lastValueFrom(registration.update$(changes)),
      deregister: async () => {
        await lastValueFrom(registration.deregister$(), { defaultValue: undefined });
        release();
      },
    };
  }

  // ------------------------------------------------------------------ admin calls

  /**
   * Overrides an instance's status (SetStatus, Eureka's overridden status): `OUT_OF_SERVICE` takes it
   * out of traffic whatever it reports until the override is deleted. Answers the instance after the
   * change. Needs write rights on a server with authorization on. Not retried beyond trying each server once.
   */
  async setStatus(ref: InstanceRef & { readonly status: InstanceStatus }): Promise<ServiceInstance> {
    this.assertOpen();
    const call = { ...this.instanceCall(ref), status: ref.status };
    return (await firstValueFrom(this.servers.call((t) => t.setStatus(call)))).value;
  }

  /**
   * Deletes an instance's status override (DeleteStatusOverride). The instance takes `status` now,
   * by default the status it last registered with. Answers the instance after the change.
   */
  async deleteStatusOverride(ref: InstanceRef & { readonly status?: InstanceStatus }): Promise<ServiceInstance> {
    this.assertOpen();
    const call = { ...this.instanceCall(ref), ...(ref.status === undefined ? {} : { status: ref.status }) };
    return (await firstValueFrom(this.servers.call((t) => t.deleteStatusOverride(call)))).value;
  }

  /**
   * Creates a service or replaces its settings (UpdateService): the protect threshold and the
   * service-level metadata. Replaces, not merges: a field not given is reset. Needs admin rights on
   * a server with authorization on. Answers the service after the change.
   */
  async updateService(settings: ServiceSettings): Promise<ServiceSummary> {
    this.assertOpen();
    const call = { ...settings, namespace: settings.namespace ?? this.options.namespace, group: settings.group ?? '' };
    return (await firstValueFrom(this.servers.call((t) => t.updateService(call)))).value;
  }

  // ------------------------------------------------------------------ reads

  /**
   * The service from the local cache. An unknown key is fetched now; while a fetch of a key is in
   * flight, callers wait for that one (at most updateHoldMs) instead of fetching again. When no
   * server answers, the cached or disk copy is returned marked stale; with neither, the call fails
   * with ServiceInfoUnavailableError.
   */
  getServiceInfo(service: string, options: GetServiceInfoOptions = {}): Promise<ServiceInfoResult> {
    return firstValueFrom(this.getServiceInfo$(service, options));
  }

  /** getServiceInfo as a cold Observable of one result (for RxJS pipelines and virtual time). */
  getServiceInfo$(service: string, options: GetServiceInfoOptions = {}): Observable<ServiceInfoResult> {
    return defer(() => {
      this.assertOpen();
      const key = cacheKey(service, options);
      if (this.failoverOn) return this.fromDisk$(key, undefined);
      if (options.subscribe === false) this.tasks.ensure(key);
      else this.pin(key);
      const entry = this.cache.get(key);
      if (entry !== undefined && entry.source === 'disk') {
        // Seeded from disk at start: answer now (stale), refresh in the background.
        this.fetch$(key).subscribe({ error: () => undefined });
        return of(this.result(key));
      }
      if (entry !== undefined && !this.pulls.pulling(key)) return of(this.result(key));
      let failure: unknown;
      return this.fetch$(key).pipe(
        timeout({ first: this.options.updateHoldMs, scheduler: this.options.scheduler }),
        catchError((e: unknown) => {
          failure = e;
          return EMPTY;
        }),
        defaultIfEmpty(undefined),
        switchMap(() => (this.cache.get(key) === undefined ? this.fromDisk$(key, failure) : of(this.result(key)))),
      );
    });
  }

  /**
   * Changes of a service: first its current state (`initial: true`, everything "added"), then one
   * event per change with the host diff. Subscribing starts the push stream (in grpc mode) and the
   * poll fallback; the last unsubscribe stops the stream.
   */
  watch$(service: string, query: ServiceQuery = {}): Observable<ServiceChangeEvent> {
    return defer(() => {
      this.assertOpen();
      const key = cacheKey(service, query);
      this.tasks.ensure(key);
      const current = this.cache.get(key);
      const initial: Observable<ServiceChangeEvent> =
        current === undefined
          ? EMPTY
          : of({ key, snapshot: current.snapshot, diff: { added: current.snapshot.hosts, modified: [], removed: [] }, source: current.source, initial: true });
      const push = this.options.mode === 'grpc' ? this.pushes.stream$(key) : EMPTY;
      if (current === undefined && this.options.mode !== 'grpc') this.fetch$(key).subscribe({ error: () => undefined });
      const changes = this.cache.changes$.pipe(filter((c) => c.key === key));
      return merge(push, concat(initial, changes)).pipe(
        map((e, i) => (i === 0 && !e.initial ? { ...e, initial: true } : e)),
        takeUntil(this.closed$),
      );
    });
  }

  /** The usable instances of a service (with Nacos's protect threshold). */
  async healthyInstances(service: string, options: GetServiceInfoOptions = {}): Promise<ServiceInstance[]> {
    return healthyInstances((await this.getServiceInfo(service, options)).snapshot).instances;
  }

  /** One usable instance, picked at random by weight (Nacos's selectOneHealthyInstance). */
  async selectOneHealthyInstance(service: string, options: GetServiceInfoOptions = {}): Promise<ServiceInstance | undefined> {
    return pickWeighted(await this.healthyInstances(service, options), this.options.random);
  }

  /** Stops keeping a service fresh (its push stream, if no watcher holds it, and its poll task). */
  unsubscribe(service: string, query: ServiceQuery = {}): void {
    const key = cacheKey(service, query);
    this.pins.get(key)?.unsubscribe();
    this.pins.delete(key);
    this.tasks.stop(key);
  }

  /** Failover mode: serve reads from the disk copy only (an operator's switch). */
  setFailover(enabled: boolean): void {
    if (enabled && this.disk === undefined) throw new RangeError('failover mode needs cacheDir');
    this.failoverOn = enabled;
  }

  get failover(): boolean {
    return this.failoverOn;
  }

  /** False while no server answers. */
  get reachable(): boolean {
    return this.servers.reachable;
  }

  /** Which server is current and whether any answers: the current state first, then changes. */
  get connection$(): Observable<ConnectionState> {
    return this.servers.connection$;
  }

  /** Counters for tests and diagnostics. */
  stats(): { cachedKeys: number; updateTasks: number; pushStreams: number; registrations: number; server: string; udpPort: number } {
    return {
      udpPort: this.udpReceiver?.port ?? 0,
      cachedKeys: this.cache.keys().length,
      updateTasks: this.tasks.size,
      pushStreams: this.pushes.openKeys,
      registrations: this.registrations.size,
      server: this.servers.current,
    };
  }

  /** Poll counters of one key's update task (tests). */
  taskCounters(service: string, query: ServiceQuery = {}): { runs: number; pulls: number } | undefined {
    return this.tasks.counters(cacheKey(service, query));
  }

  /**
   * Cancels every registration this client owns (bounded by the call timeout), then closes streams,
   * timers, transports and pending disk writes. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ------------------------------------------------------------------ internals

  private async shutdown(): Promise<void> {
    this.closed$.next();
    this.closed$.complete();
    for (const p of this.pins.values()) p.unsubscribe();
    this.pins.clear();
    this.tasks.close();
    await Promise.all(
      [...this.registrations].map(async (r) => {
        try {
          await lastValueFrom(r.deregister$().pipe(timeout({ first: this.options.callTimeoutMs, scheduler: this.options.scheduler })), {
            defaultValue: undefined,
          });
        } catch {
          r.abandon();
        }
      }),
    );
    this.registrations.clear();
    this.registered.clear();
    this.redo.unsubscribe();
    (await this.udpReady)?.close();
    this.cache.close();
    await this.disk?.flush();
    this.servers.close();
  }

  private instanceCall(ref: InstanceRef): { namespace: string; group: string; service: string; instanceId: string } {
    return { namespace: ref.namespace ?? this.options.namespace, group: ref.group ?? '', service: ref.service, instanceId: ref.instanceId };
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError();
  }

  private result(key: string): ServiceInfoResult {
    const entry = this.cache.get(key);
    if (entry === undefined) throw new ServiceInfoUnavailableError(key);
    return { snapshot: entry.snapshot, source: entry.source, stale: entry.source === 'disk' || !this.servers.reachable };
  }

  private fromDisk$(key: string, cause: unknown): Observable<ServiceInfoResult> {
    const disk = this.disk;
    if (disk === undefined) return defer(() => Promise.reject(new ServiceInfoUnavailableError(key, cause)));
    return from(disk.read(key)).pipe(
      map((snapshot) => {
        if (snapshot === undefined) throw new ServiceInfoUnavailableError(key, cause);
        return { snapshot, stale: true, source: 'disk' as const };
      }),
    );
  }

  /** Keeps a key fresh: its update task and, in grpc mode, its push stream. */
  private pin(key: string): void {
    this.tasks.ensure(key);
    if (this.options.mode === 'grpc' && !this.pins.has(key)) this.pins.set(key, this.pushes.stream$(key).subscribe());
  }

  /** Pulls a key through the updating guard. */
  private fetch$(key: string): Observable<void> {
    return this.pulls.pull$(key);
  }
}

/** Creates a client. See RegistryClientOptions for every option and its default. */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  return new RegistryClient(options);
}
