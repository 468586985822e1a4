import { describe, expect, it } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isUnavailable, ServerUnreachableError, unreachableReason } from '../../src/client/call-errors.js';

const grpcError = (code: GrpcStatus, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });

describe('call errors in plain words', () => {
  it("turns grpc-js's texts (as grpc-js 1.14 words them) into a few plain words", () => {
    const cases: [GrpcStatus, string, string][] = [
      [GrpcStatus.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ', 'connection refused'],
      [GrpcStatus.UNAVAILABLE, 'Name resolution failed for target dns:nosuchhost.invalid:7070', 'host name not found'],
      [GrpcStatus.UNAVAILABLE, 'No connection established. Last error: Failed to connect (2026-11-29T15:30:17.812Z). Resolution note: ', 'connection closed before the gRPC handshake'],
      [GrpcStatus.UNAVAILABLE, 'No connection established. Last error: Protocol error (2026-11-29T15:30:20.821Z). Resolution note: ', 'not a gRPC server'],
      [GrpcStatus.UNAVAILABLE, 'Connection dropped', 'connection lost'],
      [GrpcStatus.UNAVAILABLE, 'No connection established. Last error: Error: something new. Resolution note: ', 'something new'],
      [GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded after 5.001s,Waiting for LB pick', 'no answer within 5 s'],
      [GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded', 'no answer in time'],
      // A server's own UNAVAILABLE answer is already plain.
      [GrpcStatus.UNAVAILABLE, 'server is shutting down', 'server is shutting down'],
    ];
    for (const [code, details, plain] of cases) expect([details, unreachableReason(grpcError(code, details))]).toEqual([details, plain]);
  });

  it('a ServerUnreachableError names every server tried and classifies as the failure it stands for', () => {
    const one = new ServerUnreachableError([{ server: '127.0.0.1:7070', reason: 'connection refused' }], grpcError(GrpcStatus.UNAVAILABLE, 'x'));
    expect(one.message).toBe('cannot reach 127.0.0.1:7070 (connection refused)');
    expect(one.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(isUnavailable(one)).toBe(true);
    const two = new ServerUnreachableError([
      { server: 'a:1', reason: 'connection refused' },
      { server: 'b:2', reason: 'no answer within 5 s' },
    ]);
    expect(two.message).toBe('cannot reach any server: a:1 (connection refused); b:2 (no answer within 5 s)');
  });
});
