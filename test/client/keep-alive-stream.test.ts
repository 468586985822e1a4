import { EventEmitter } from 'node:events';
import { Metadata, status as GrpcStatus, type ClientDuplexStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { KeepAliveStream } from '../../src/client/keep-alive-stream.js';
import type { KeepAliveRequest, KeepAliveResponse } from '../../src/gen/herald/v1/registry_service.js';

/** A KeepAlive call the test plays the server of. */
class FakeCall extends EventEmitter {
  readonly written: KeepAliveRequest[] = [];
  cancelled = false;
  write(r: KeepAliveRequest): boolean {
    this.written.push(r);
    return true;
  }
  cancel(): void {
    this.cancelled = true;
  }
  answer(tag: number, code = 0, message = ''): void {
    this.emit('data', { tag, code, message, leaseExpiresAt: code === 0 ? 1_000 : 0, renewalIntervalMs: code === 0 ? 30_000 : 0 } satisfies KeepAliveResponse);
  }
}

function setup(deadlineMs = 10_000) {
  const calls: FakeCall[] = [];
  const stream = new KeepAliveStream(() => {
    const c = new FakeCall();
    calls.push(c);
    return c as unknown as ClientDuplexStream<KeepAliveRequest, KeepAliveResponse>;
  }, deadlineMs);
  return { stream, calls };
}

const renewal = (instanceId: string) => ({ namespace: '', group: '', service: 'orders', instanceId, lastDirtyTimestamp: 0 });

describe('KeepAliveStream', () => {
  it('renews many instances on one stream, each answer by its tag; a refusal rejects only its renewal with the code', async () => {
    const { stream, calls } = setup();
    const a = stream.renew(renewal('a'));
    const b = stream.renew(renewal('b'));
    expect(calls).toHaveLength(1);
    const call = calls[0] as FakeCall;
    expect(call.written.map((r) => [r.tag, r.instanceId])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    call.answer(2, GrpcStatus.NOT_FOUND, 'instance b is not registered');
    call.answer(1);
    await expect(a).resolves.toEqual({ leaseExpiresAt: 1_000, renewalIntervalMs: 30_000 });
    await expect(b).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND, details: 'instance b is not registered' });
  });

  it('a renewal left unanswered past the deadline fails with DEADLINE_EXCEEDED, and the next one opens a new stream', async () => {
    const { stream, calls } = setup(20);
    await expect(stream.renew(renewal('a'))).rejects.toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
    expect(calls[0]?.cancelled).toBe(true);
    const again = stream.renew(renewal('a'));
    expect(calls).toHaveLength(2);
    calls[1]?.answer(calls[1].written[0]?.tag ?? 0);
    await expect(again).resolves.toMatchObject({ renewalIntervalMs: 30_000 });
  });

  it('a stream refused UNAUTHENTICATED (a stale token) sends its renewals once more on a new stream; refused again, they fail', async () => {
    const { stream, calls } = setup();
    const a = stream.renew(renewal('a'));
    const refuse = (c: FakeCall | undefined) =>
      c?.emit('error', Object.assign(new Error('16'), { code: GrpcStatus.UNAUTHENTICATED, details: 'token refused', metadata: new Metadata() }));
    refuse(calls[0]);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.written.map((r) => r.instanceId)).toEqual(['a']);
    refuse(calls[1]);
    await expect(a).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
  });
});
