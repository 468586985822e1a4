/**
 * Server reflection (grpc.reflection.v1 and v1alpha) so grpcurl and other tools can list, describe
 * and call every method. Every file is served from the FileDescriptorSet that buf built at `npm run
 * gen` (protoc-grade, comments included: herald.v1, its imports, grpc.health.v1) rather than from
 * proto-loader's re-derived descriptors, which name map entries wrongly so that strict clients such
 * as grpcurl and Python's protobuf reject them (grpcurl#519; health.proto's List has a map).
 */
import type { Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { DESCRIPTOR_SET_BASE64 } from '../gen/descriptor-set.js';

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

/** Adds reflection for herald.v1 and grpc.health.v1 to `server`. */
export function addReflection(server: Server): void {
  const files = splitDescriptorSet(Buffer.from(DESCRIPTOR_SET_BASE64, 'base64'));
  // @grpc/reflection indexes every `fileDescriptorProtos` it finds on a package definition's
  // entries; one synthetic entry carries all of the files.
  const definition = { descriptors: { fileDescriptorProtos: files } } as unknown as PackageDefinition;
  new ReflectionService(definition).addToServer(server);
}
