import { describe, expect, it } from 'vitest';
import { defer, of, throwError, VirtualTimeScheduler, type Observable } from 'rxjs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { silentLogger } from '../../src/common/logger.js';
import { Registration, type RegistrationCalls, type RegistrationState } from '../../src/client/registration.js';
import type { InstanceSpec, ServiceInstance } from '../../src/client/model.js';
import type { InstanceCall } from '../../src/client/transport.js';

const unavailable = () => Object.assign(new Error('down'), { code: GrpcStatus.UNAVAILABLE, details: 'connection refused' });
const notFound = () => Object.assign(new Error('nf'), { code: GrpcStatus.NOT_FOUND, details: 'instance x is not registered' });

/** A registry double on virtual time: `down` makes every call fail, `forget()` simulates an eviction. */
class FakeRegistry implements RegistrationCalls {
  down = false;
  /** When set, register and renew fail with this error (a server's answer). */
  refuse: (() => unknown) | undefined;
  readonly log: string[] = [];
  readonly dirty = new Map<string, number>();
  constructor(private readonly scheduler: VirtualTimeScheduler) {}

  forget(id: string): void {
    this.dirty.delete(id);
  }

  register(spec: InstanceSpec, lastDirtyTimestamp: number): Observable<{ instance: ServiceInstance; leaseExpiresAt: number }> {
    return defer(() => {
      this.log.push(`register@${this.scheduler.now()}`);
      if (this.down) return throwError(unavailable);
      if (this.refuse !== undefined) return throwError(this.refuse);
      const id = spec.instanceId !== undefined && spec.instanceId !== '' ? spec.instanceId : `${spec.ip}#${spec.port}`;
      this.dirty.set(id, lastDirtyTimestamp);
      const instance: ServiceInstance = {
        instanceId: id,
        ip: spec.ip,
        port: spec.port,
        weight: 1,
        healthy: true,
        enabled: true,
        ephemeral: true,
        cluster: 'DEFAULT',
        metadata: {},
        status: 'UP',
        overriddenStatus: undefined,
        lastDirtyTimestamp,
        leaseDurationMs: 90_000,
        renewalIntervalMs: 30_000,
      };
      return of({ instance, leaseExpiresAt: this.scheduler.now() + 90_000 });
    });
  }

  renew(req: InstanceCall): Observable<{ leaseExpiresAt: number; renewalIntervalMs: number }> {
    return defer(() => {
      this.log.push(`renew@${this.scheduler.now()}`);
      if (this.down) return throwError(unavailable);
      if (this.refuse !== undefined) return throwError(this.refuse);
      if (!this.dirty.has(req.instanceId)) return throwError(notFound);
      return of({ leaseExpiresAt: this.scheduler.now() + 90_000, renewalIntervalMs: 30_000 });
    });
  }

  cancel(req: InstanceCall): Observable<undefined> {
    return defer(() => {
      this.log.push(`cancel@${this.scheduler.now()}`);
      if (this.down) return throwError(unavailable);
      if (!this.dirty.delete(req.instanceId)) return throwError(notFound);
      return of(undefined);
    });
  }
}

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const fake = new FakeRegistry(scheduler);
  // random() = 0.5 → jitter factor exactly 1.0, so delays are the nominal back-off.
  const registration = new Registration({ service: 'orders', ip: '10.0.0.1', port: 80 }, fake, {
    scheduler,
    logger: silentLogger,
    random: () => 0.5,
    backoffBaseMs: 1_000,
    backoffMaxMs: 8_000,
  });
  const states: RegistrationState[] = [];
  registration.state$.subscribe((s) => states.push(s));
  const runUntil = (ms: number) => {
    scheduler.maxFrames = ms;
    scheduler.flush();
  };
  return { scheduler, fake, registration, states, runUntil };
}

describe('Registration', () => {
  it('registers, then renews every renewal interval', () => {
    const { fake, registration, runUntil } = setup();
    runUntil(95_000);
    expect(fake.log).toEqual(['register@0', 'renew@30000', 'renew@60000', 'renew@90000']);
    expect(registration.state).toMatchObject({ kind: 'registered', leaseExpiresAt: 180_000 });
    expect(registration.instanceId).toBe('10.0.0.1#80');
  });

  it('re-registers on NOT_FOUND with a newer dirty timestamp, then keeps renewing', () => {
    const { fake, registration, runUntil } = setup();
    runUntil(31_000);
    const firstDirty = fake.dirty.get('10.0.0.1#80') ?? -1;
    fake.forget('10.0.0.1#80');
    runUntil(61_000);
    expect(fake.log).toEqual(['register@0', 'renew@30000', 'renew@60000', 'register@60000']);
    expect(fake.dirty.get('10.0.0.1#80')).toBeGreaterThan(firstDirty);
    runUntil(91_000);
    expect(fake.log.at(-1)).toBe('renew@90000');
    expect(registration.state.kind).toBe('registered');
  });

  it('backs off exponentially up to the bound while the server is down, and recovers by itself', () => {
    const { fake, registration, states, runUntil } = setup();
    runUntil(1);
    fake.down = true;
    runUntil(60_000);
    // Renew at 30 s fails; retries after 1, 2, 4, 8, 8 s ...
    expect(fake.log.slice(1)).toEqual(['renew@30000', 'renew@31000', 'renew@33000', 'renew@37000', 'renew@45000', 'renew@53000']);
    expect(registration.state).toMatchObject({ kind: 'renew-failing', attempt: 6, lastError: 'connection refused', retryInMs: 8_000 });
    fake.down = false;
    runUntil(62_000);
    expect(fake.log.at(-1)).toBe('renew@61000');
    expect(registration.state.kind).toBe('registered');
    // Back to the normal cadence, back-off reset.
    runUntil(92_000);
    expect(fake.log.at(-1)).toBe('renew@91000');
    expect(states.map((s) => s.kind)).toContain('renew-failing');
  });

  it('keeps trying to register when the server is down at start', () => {
    const scheduler = new VirtualTimeScheduler();
    const fake = new FakeRegistry(scheduler);
    fake.down = true;
    const registration = new Registration({ service: 'orders', ip: '10.0.0.1', port: 80 }, fake, { scheduler, logger: silentLogger, random: () => 0.5 });
    scheduler.maxFrames = 3_500;
    scheduler.flush();
    expect(fake.log).toEqual(['register@0', 'register@1000', 'register@3000']);
    expect(registration.state).toMatchObject({ kind: 'registering', attempt: 4, lastError: 'connection refused' });
    fake.down = false;
    scheduler.maxFrames = 8_000;
    scheduler.flush();
    expect(registration.state.kind).toBe('registered');
  });

  it('deregisters: cancels the lease, stops renewing, completes its state', () => {
    const { fake, registration, states, runUntil } = setup();
    runUntil(1);
    let done = false;
    registration.deregister$().subscribe(() => (done = true));
    runUntil(200_000);
    expect(done).toBe(true);
    expect(fake.log).toEqual(['register@0', 'cancel@0']);
    expect(states.at(-1)).toEqual({ kind: 'deregistered' });
    // Idempotent.
    let again = false;
    registration.deregister$().subscribe(() => (again = true));
    expect(again).toBe(true);
  });

  it('deregistering while the server is down still stops, and says the lease will expire', () => {
    const { fake, registration, runUntil } = setup();
    runUntil(1);
    fake.down = true;
    let done = false;
    registration.deregister$().subscribe(() => (done = true));
    runUntil(100_000);
    expect(done).toBe(true);
    expect(registration.state.kind).toBe('deregistered');
    expect(fake.log.filter((l) => l.startsWith('renew'))).toEqual([]);
  });

  it('a permanent error ends the registration, rejected with the reason, and nothing is retried', () => {
    const scheduler = new VirtualTimeScheduler();
    const fake = new FakeRegistry(scheduler);
    fake.refuse = () => Object.assign(new Error('bad'), { code: GrpcStatus.INVALID_ARGUMENT, details: 'instance.ip "x" is not an IPv4 or IPv6 address or a host name' });
    const registration = new Registration({ service: 'orders', ip: 'x', port: 80 }, fake, { scheduler, logger: silentLogger, random: () => 0.5 });
    const states: RegistrationState[] = [];
    let completed = false;
    registration.state$.subscribe({ next: (s) => states.push(s), complete: () => (completed = true) });
    scheduler.maxFrames = 600_000;
    scheduler.flush();
    expect(fake.log).toEqual(['register@0']);
    expect(registration.state).toEqual({ kind: 'rejected', code: 'INVALID_ARGUMENT', reason: 'instance.ip "x" is not an IPv4 or IPv6 address or a host name' });
    // The double refused synchronously, before anyone subscribed: the final state is still replayed.
    expect(states.map((s) => s.kind)).toEqual(['rejected']);
    expect(completed).toBe(true);
    // Final: a redo after a reconnect does not revive it, and deregistering is a no-op.
    registration.redo();
    let done = false;
    registration.deregister$().subscribe(() => (done = true));
    expect(done).toBe(true);
    expect(fake.log).toEqual(['register@0']);
  });

  it('a permanent error on a renewal ends it too (say, permissions revoked), leaving the lease to expire', () => {
    const { fake, registration, runUntil } = setup();
    runUntil(1);
    fake.refuse = () => Object.assign(new Error('denied'), { code: GrpcStatus.PERMISSION_DENIED, details: 'not allowed to renew orders' });
    runUntil(200_000);
    expect(fake.log).toEqual(['register@0', 'renew@30000']);
    expect(registration.state).toEqual({ kind: 'rejected', code: 'PERMISSION_DENIED', reason: 'not allowed to renew orders' });
  });

  it('retries only unavailability: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED and errors with no gRPC status', () => {
    const retried = [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED, undefined];
    const permanent = Object.values(GrpcStatus).filter((c): c is GrpcStatus => typeof c === 'number' && c !== GrpcStatus.OK && !retried.includes(c));
    expect(permanent).toHaveLength(13);
    for (const code of [...retried, ...permanent]) {
      const scheduler = new VirtualTimeScheduler();
      const fake = new FakeRegistry(scheduler);
      fake.refuse = () => Object.assign(new Error(`code ${String(code)}`), code === undefined ? {} : { code });
      const registration = new Registration({ service: 'orders', ip: '10.0.0.1', port: 80 }, fake, { scheduler, logger: silentLogger, random: () => 0.5 });
      scheduler.maxFrames = 10_000;
      scheduler.flush();
      const expected = retried.includes(code) ? 'registering' : 'rejected';
      expect([code, registration.state.kind]).toEqual([code, expected]);
      expect([code, fake.log.length > 1]).toEqual([code, expected === 'registering']);
    }
  });
});
