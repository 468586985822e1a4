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

/** Splits a serialized FileDescriptorSet into its serialized FileDescriptorProtos (field 1). */
export function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const files: Buffer[] = [];
  let o = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const b = set[o++];
      if (b === undefined) throw new Error('truncated descriptor set');
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
  };
  while (o < set.length) {
    const tag = varint();
    if (tag !== 0x0a) throw new Error(`unexpected tag ${tag} in descriptor set`);
    const len = varint();
    files.push(Buffer.from(set.subarray(o, o + len)));
    o += len;
  }
  return files;
}

/** The `name` (field 1) of a serialized FileDescriptorProto; protoc and buf write it first. */
export function descriptorFileName(file: Buffer): string {
  if (file[0] !== 0x0a) throw new Error('descriptor does not start with its name');
  let len = 0;
  let shift = 1;
  let o = 1;
  for (;;) {
    const b = file[o++];
    if (b === undefined) throw new Error('truncated descriptor');
    len += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  return file.toString('utf8', o, o + len);
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
