/**
 * Server reflection (grpc.reflection.v1 and v1alpha) so grpcurl and other tools can list, describe
 * and call every method. Every file is served from the FileDescriptorSets that buf built at `npm run
 * gen` (protoc-grade: herald.v1, its imports and grpc.health.v1 with comments; the xDS files of the
 * ADS service and their imports without) rather than from
 * proto-loader's re-derived descriptors, which name map entries wrongly so that strict clients such
 * as grpcurl and Python's protobuf reject them (grpcurl#519; health.proto's List has a map).
 */
import type { Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { DESCRIPTOR_SET_BASE64 } from '../gen/descriptor-set.js';
import { XDS_DESCRIPTOR_SET_BASE64 } from '../gen/xds/descriptor-set.js';

/** The varint at `o` of `bytes`, and the offset after it. */
function varintAt(bytes: Uint8Array, o: number): { value: number; next: number } {
  let value = 0;
  let shift = 1;
  for (;;) {
    const b = bytes[o++];
    if (b === undefined) throw new Error('truncated descriptor');
    value += (b & 0x7f) * shift;
    if (b < 0x80) return { value, next: o };
    shift *= 128;
  }
}

/** The length-delimited field 1 starting at `o` (tag 0x0a, then its length): where its bytes start and end. */
function field1At(bytes: Uint8Array, o: number, what: string): { start: number; end: number } {
  const tag = varintAt(bytes, o);
  if (tag.value !== 0x0a) throw new Error(`unexpected tag ${tag.value} in ${what}`);
  const len = varintAt(bytes, tag.next);
  return { start: len.next, end: len.next + len.value };
}

/** Splits a serialized FileDescriptorSet into its serialized FileDescriptorProtos (field 1). */
export function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const files: Buffer[] = [];
  for (let o = 0; o < set.length;) {
    const { start, end } = field1At(set, o, 'descriptor set');
    files.push(Buffer.from(set.subarray(start, end)));
    o = end;
  }
  return files;
}

/** The `name` (field 1) of a serialized FileDescriptorProto; protoc and buf write it first. */
export function descriptorFileName(file: Buffer): string {
  const { start, end } = field1At(file, 0, 'a descriptor (it must start with its name)');
  return file.toString('utf8', start, end);
}

/** Adds reflection for herald.v1, grpc.health.v1 and, when it is served, the xDS ADS service to `server`. */
export function addReflection(server: Server, o: { xds: boolean }): void {
  // Both sets carry google/protobuf's well-known types: each file is served once, herald's copy first.
  const byName = new Map<string, Buffer>();
  for (const set of o.xds ? [DESCRIPTOR_SET_BASE64, XDS_DESCRIPTOR_SET_BASE64] : [DESCRIPTOR_SET_BASE64]) {
    for (const file of splitDescriptorSet(Buffer.from(set, 'base64'))) {
      const name = descriptorFileName(file);
      if (!byName.has(name)) byName.set(name, file);
    }
  }
  const files = [...byName.values()];
  // @grpc/reflection indexes every `fileDescriptorProtos` it finds on a package definition's
  // entries; one synthetic entry carries all of the files.
  const definition = { descriptors: { fileDescriptorProtos: files } } as unknown as PackageDefinition;
  new ReflectionService(definition).addToServer(server);
}
