/**
 * One registered instance kept alive (Eureka's DiscoveryClient heartbeat, seed 003): register, then
 * renew every renewal interval; NOT_FOUND on renew (evicted, server restarted, or our copy is newer)
 * → re-register with a fresh dirty timestamp; unavailability (call-errors.ts) → retry with
 * exponential back-off (with jitter) up to a bound, recovering on its own; any other error is the
 * server refusing the registration → `rejected`, final; `deregister()` cancels the lease.
 *
 * Time runs on the injected RxJS scheduler and the calls are Observables, so tests drive it in
 * virtual time. Not reentrant: all work happens on scheduler callbacks and call completions.
 */
import { BehaviorSubject, defer, Observable, of, type SchedulerLike, type Subscription } from 'rxjs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { errorText as message, grpcCode, grpcCodeName, isUnavailable } from './call-errors.js';
import type { Logger } from '../common/logger.js';
import type { InstanceSpec, ServiceInstance } from './model.js';
import type { InstanceCall, Transport } from './transport.js';

type Answer<K extends 'register' | 'renew' | 'cancel'> = Awaited<ReturnType<Transport[K]>>;

/** The calls a registration makes (through the client's server list); each Observable emits one answer or errors with a gRPC error. */
export interface RegistrationCalls {
  register(spec: InstanceSpec, lastDirtyTimestamp: number): Observable<Answer<'register'>>;
  renew(call: InstanceCall & { readonly lastDirtyTimestamp: number }): Observable<Answer<'renew'>>;
  cancel(call: InstanceCall): Observable<Answer<'cancel'>>;
}

export type RegistrationState =
  /** Not registered yet; `attempt` counts tries, `lastError` says why the previous one failed. */
  | { readonly kind: 'registering'; readonly attempt: number; readonly lastError?: string }
  /** Registered and renewed; the lease runs until `leaseExpiresAt` (server time). */
  | { readonly kind: 'registered'; readonly instance: ServiceInstance; readonly leaseExpiresAt: number }
  /** Renewals are failing; the next try is in `retryInMs`. The lease may still be alive. */
  | { readonly kind: 'renew-failing'; readonly attempt: number; readonly lastError: string; readonly retryInMs: number }
  /** Cancelled (or given up by close()); final. */
  | { readonly kind: 'deregistered' }
  /**
   * The server refused the registration or a renewal with a permanent error (anything but
   * unavailability): `code` is the gRPC status name (`INVALID_ARGUMENT`, `PERMISSION_DENIED`, …),
   * `reason` the server's message. Nothing is retried; a lease already granted expires. Final.
   */
  | { readonly kind: 'rejected'; readonly code: string; readonly reason: string };

/**
 * What `update()` may change on a live registration: the fields a registrant describes about
 * itself that do not name it. Each given field replaces the current one (`metadata` as a whole).
 */
export interface RegistrationUpdate {
  readonly metadata?: Readonly<Record<string, string>>;
  readonly weight?: number;
  readonly enabled?: boolean;
  readonly healthy?: boolean;
}

export interface RegistrationOptions {
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** First retry delay after a failure. Default 1000 ms. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay (the back-off bound). Default 30000 ms. */
  readonly backoffMaxMs?: number;
  /** Uniform [0, 1) for jitter (±20 % of each delay). */
  readonly random?: () => number;
}

export class Registration {
  private readonly stateSubject = new BehaviorSubject<RegistrationState>({ kind: 'registering', attempt: 1 });
  /**
   * The state, current value first; completes after deregistration or rejection (a subscriber that
   * comes later still gets that final state, then completion).
   */
  readonly state$: Observable<RegistrationState> = defer(() => (this.finished ? of(this.stateSubject.value) : this.stateSubject.asObservable()));
  private finished = false;
  private instanceIdValue: string | undefined;
  private lastDirtyTimestamp: number;
  private failures = 0;
  private timer: Subscription | undefined;
  private call: Subscription | undefined;
  private stopped = false;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly random: () => number;

  private specValue: InstanceSpec;

  constructor(
    spec: InstanceSpec,
    private readonly calls: RegistrationCalls,
    private readonly options: RegistrationOptions,
  ) {
    this.specValue = spec;
    this.lastDirtyTimestamp = options.scheduler.now();
    this.backoffBaseMs = options.backoffBaseMs ?? 1_000;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.instanceIdValue = spec.instanceId;
    this.register();
  }

  /** What is registered: the spec given, with every update() applied. */
  get spec(): InstanceSpec {
    return this.specValue;
  }

  get state(): RegistrationState {
    return this.stateSubject.value;
  }

  /** The instance id: as given, or as the server derived it once registered. */
  get instanceId(): string | undefined {
    return this.instanceIdValue;
  }

  /**
   * Stops heartbeats and cancels the lease on the server (NOT_FOUND and unreachable servers are
   * fine: an unrenewed lease expires anyway). Emits once done; idempotent.
   */
  deregister$(): Observable<void> {
    return new Observable<void>((subscriber) => {
      if (this.stopped) {
        subscriber.next();
        subscriber.complete();
        return undefined;
      }
      this.halt();
      const id = this.instanceIdValue;
      const finish = (): void => {
        this.setState({ kind: 'deregistered' });
        this.finish();
        subscriber.next();
        subscriber.complete();
      };
      if (id === undefined) {
        finish();
        return undefined;
      }
      const sub = this.calls.cancel(this.instanceCall(id)).subscribe({
        complete: finish,
        error: (e: unknown) => {
          if (grpcCode(e) !== GrpcStatus.NOT_FOUND) this.options.logger.warn({ instanceId: id, error: message(e) }, 'cancel failed; the lease will expire');
          finish();
        },
      });
      return () => {
        sub.unsubscribe();
      };
    });
  }

  /**
   * Registers again now, keeping the dirty timestamp (Nacos's redo after a reconnect): idempotent
   * on a server that knows the instance, and restores it on one that does not.
   */
  redo(): void {
    if (this.stopped) return;
    this.timer?.unsubscribe();
    this.call?.unsubscribe();
    this.register();
  }

  /**
   * Changes the registered instance in place: the same instance id and lease, registered again now
   * with the changes and a newer dirty timestamp (so the server takes this copy over the one it
   * holds), then renewed as before. Emits the instance as the server stored it and completes; while
   * no server answers it waits, as registration does. Errors when the registration has ended
   * (deregistered or rejected) or the server refuses the change (the registration is then
   * `rejected`). An update made while another is in flight supersedes it: both emit the later copy.
   */
  update$(changes: RegistrationUpdate): Observable<ServiceInstance> {
    return new Observable<ServiceInstance>((subscriber) => {
      if (this.stopped) {
        subscriber.error(new Error(`the registration of ${this.instanceIdValue ?? this.specValue.service} has ended (${this.state.kind}); register it again`));
        return undefined;
      }
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as RegistrationUpdate;
      this.specValue = { ...this.specValue, ...defined };
      this.lastDirtyTimestamp = Math.max(this.lastDirtyTimestamp + 1, this.options.scheduler.now());
      // Skip the current state: wait for the answer to the register below.
      let first = true;
      const sub = this.stateSubject.subscribe({
        next: (s) => {
          if (first) return;
          if (s.kind === 'registered') {
            subscriber.next(s.instance);
            subscriber.complete();
          } else if (s.kind === 'rejected') {
            subscriber.error(new Error(`the server refused the update (${s.code}): ${s.reason}`));
          } else if (s.kind === 'deregistered') {
            subscriber.error(new Error('deregistered before the update was registered'));
          }
        },
      });
      first = false;
      this.redo();
      return () => {
        sub.unsubscribe();
      };
    });
  }

  /** Stops heartbeats without cancelling the lease (the instance expires on its own). Idempotent. */
  abandon(): void {
    if (this.stopped) return;
    this.halt();
    this.setState({ kind: 'deregistered' });
    this.finish();
  }

  private halt(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.call?.unsubscribe();
  }

  private setState(s: RegistrationState): void {
    this.stateSubject.next(s);
  }

  /** After a final state: completes state$. */
  private finish(): void {
    this.finished = true;
    this.stateSubject.complete();
  }

  private later(delayMs: number, work: () => void): void {
    this.timer?.unsubscribe();
    this.timer = this.options.scheduler.schedule(() => {
      if (!this.stopped) work();
    }, delayMs);
  }

  private instanceCall(instanceId: string): InstanceCall {
    return { namespace: this.spec.namespace ?? '', group: this.spec.group ?? '', service: this.spec.service, instanceId };
  }

  private register(): void {
    const spec = { ...this.spec, ...(this.instanceIdValue === undefined ? {} : { instanceId: this.instanceIdValue }) };
    this.call = this.calls.register(spec, this.lastDirtyTimestamp).subscribe({
      next: ({ instance, leaseExpiresAt }) => {
        this.failures = 0;
        this.instanceIdValue = instance.instanceId;
        const interval = instance.renewalIntervalMs > 0 ? instance.renewalIntervalMs : 30_000;
        this.setState({ kind: 'registered', instance, leaseExpiresAt });
        this.later(interval, () => {
          this.renew(instance);
        });
      },
      error: (e: unknown) => {
        this.fail(
          e,
          () => {
            this.register();
          },
          'register',
        );
      },
    });
  }

  private renew(instance: ServiceInstance): void {
    this.call = this.calls.renew({ ...this.instanceCall(instance.instanceId), lastDirtyTimestamp: this.lastDirtyTimestamp }).subscribe({
      next: (res) => {
        this.failures = 0;
        this.setState({ kind: 'registered', instance, leaseExpiresAt: res.leaseExpiresAt });
        this.later(res.renewalIntervalMs > 0 ? res.renewalIntervalMs : instance.renewalIntervalMs, () => {
          this.renew(instance);
        });
      },
      error: (e: unknown) => {
        if (grpcCode(e) === GrpcStatus.NOT_FOUND) {
          // Evicted, the server restarted, or our copy is newer: register again, marked dirty now so
          // our copy wins over any stale one (Eureka's setIsDirtyWithTime).
          this.options.logger.info({ instanceId: instance.instanceId, reason: message(e) }, 're-registering after NOT_FOUND');
          this.lastDirtyTimestamp = Math.max(this.lastDirtyTimestamp + 1, this.options.scheduler.now());
          this.setState({ kind: 'registering', attempt: 1, lastError: message(e) });
          this.register();
          return;
        }
        this.fail(
          e,
          () => {
            this.renew(instance);
          },
          'renew',
        );
      },
    });
  }

  private fail(e: unknown, retry: () => void, phase: 'register' | 'renew'): void {
    if (!isUnavailable(e)) {
      this.reject(e, phase);
      return;
    }
    this.failures++;
    const exp = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.min(this.failures - 1, 30));
    const delay = Math.round(exp * (0.8 + 0.4 * this.random()));
    const lastError = message(e);
    this.options.logger.warn({ service: this.spec.service, phase, attempt: this.failures, retryInMs: delay, error: lastError }, `${phase} failed`);
    if (phase === 'register' || this.state.kind === 'registering') {
      this.setState({ kind: 'registering', attempt: this.failures + 1, lastError });
    } else {
      this.setState({ kind: 'renew-failing', attempt: this.failures, lastError, retryInMs: delay });
    }
    this.later(delay, retry);
  }

  /** A permanent error: stop, and say why. A retry would get the same answer. */
  private reject(e: unknown, phase: 'register' | 'renew'): void {
    const reason = message(e);
    const code = grpcCodeName(e);
    this.options.logger.error({ service: this.spec.service, phase, code, error: reason }, `${phase} refused by the server; not retrying`);
    this.halt();
    this.setState({ kind: 'rejected', code, reason });
    this.finish();
  }
}
