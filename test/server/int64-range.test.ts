/**
 * Valid int64 values beyond 2^53 that herald cannot hold as numbers: the caller gets
 * INVALID_ARGUMENT naming the field, never INTERNAL "Error deserializing request", and nothing
 * changes. Requests are built from the descriptors with bigints, as a Go or Java stub would send them.
 */
import { describe, expect, it } from 'vitest';
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { DESCRIPTOR_SET_BASE64 } from '../../src/gen/descriptor-set.js';
import { onCleanup, startServer } from '../support/server.js';

const files = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(DESCRIPTOR_SET_BASE64, 'base64')));
const type = (name: string): DescMessage => {
  const t = files.getMessage(name);
  if (t === undefined) throw new Error(`no ${name}`);
  return t;
};

function call(port: number, path: string, body: Uint8Array): Promise<{ code: number; details: string }> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  onCleanup(() => {
    client.close();
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      body,
      new Metadata(),
      {},
      (e: ServiceError | null) => {
        resolve(e === null ? { code: GrpcStatus.OK, details: '' } : { code: e.code, details: e.details });
      },
    );
  });
}

const MAX_INT64 = 9223372036854775807n;

describe('int64 values beyond 2^53', () => {
  it('Register with lease.duration_ms or last_dirty_timestamp at 2^63 − 1 is INVALID_ARGUMENT naming the field', async () => {
    const server = await startServer();
    const reg = (instance: Record<string, unknown>) =>
      toBinary(type('herald.v1.RegisterRequest'), create(type('herald.v1.RegisterRequest'), { service: 'orders', instance: { ip: '10.0.0.1', port: 80, ...instance } }));
    const lease = await call(server.port, '/herald.v1.RegistryService/Register', reg({ lease: { durationMs: MAX_INT64 } }));
    expect(lease).toEqual({ code: GrpcStatus.INVALID_ARGUMENT, details: 'instance.lease.duration_ms is 9223372036854775807, beyond the range herald accepts (at most 9007199254740991 in magnitude)' });
    const dirty = await call(server.port, '/herald.v1.RegistryService/Register', reg({ lastDirtyTimestamp: MAX_INT64 }));
    expect(dirty.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(dirty.details).toMatch(/^instance\.last_dirty_timestamp is 9223372036854775807/);
    expect(server.registry.stats().instances).toBe(0);
    // The same request within range works.
    expect((await call(server.port, '/herald.v1.RegistryService/Register', reg({ lease: { durationMs: 5_000n } }))).code).toBe(GrpcStatus.OK);
  });

  it('Renew, SetStatus and a peer Replicate say the same; garbage is INVALID_ARGUMENT too', async () => {
    const server = await startServer();
    const renew = toBinary(type('herald.v1.RenewRequest'), create(type('herald.v1.RenewRequest'), { service: 'orders', instanceId: 'i', lastDirtyTimestamp: -MAX_INT64 }));
    expect(await call(server.port, '/herald.v1.RegistryService/Renew', renew)).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, details: expect.stringMatching(/^last_dirty_timestamp is -9223372036854775807/) as unknown });
    const status = toBinary(type('herald.v1.SetStatusRequest'), create(type('herald.v1.SetStatusRequest'), { service: 'orders', instanceId: 'i', status: 4, lastDirtyTimestamp: MAX_INT64 }));
    expect((await call(server.port, '/herald.v1.RegistryService/SetStatus', status)).details).toMatch(/^last_dirty_timestamp is/);
    const replicate = toBinary(
      type('herald.v1.ReplicateRequest'),
      create(type('herald.v1.ReplicateRequest'), { nodeId: 'x', tasks: [{ action: 2, version: 18446744073709551615n, target: { service: 'orders' } }] }),
    );
    expect((await call(server.port, '/herald.v1.PeerService/Replicate', replicate)).details).toMatch(/^tasks\[0\]\.version is 18446744073709551615/);
    const garbage = await call(server.port, '/herald.v1.RegistryService/Register', Buffer.from([0x0a, 0xff, 0xff]));
    expect(garbage.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(garbage.details).toMatch(/^the request is not a valid herald\.v1\.RegisterRequest message/);
  });
});
