/**
 * The grpc-js definition of herald.v1.RegistryService, from the generated one, except that
 * GetService, Subscribe and Watch also accept an already-encoded frame (grpc-codec.ts SnapshotFrames,
 * stream-frames.ts) and send it as is: one encoding per snapshot or delta, shared by every pull and push.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { GetServiceResponse, RegistryServiceService, SubscribeResponse, WatchResponse } from '../gen/herald/v1/registry_service.js';

function passthrough<T>(encode: (m: T) => { finish(): Uint8Array }): (value: Buffer | T) => Buffer {
  return (value) => (Buffer.isBuffer(value) ? value : Buffer.from(encode(value).finish()));
}

export const registryServiceDefinition = {
  ...RegistryServiceService,
  getService: {
    ...RegistryServiceService.getService,
    responseSerialize: passthrough((m: GetServiceResponse) => GetServiceResponse.encode(m)),
  },
  subscribe: {
    ...RegistryServiceService.subscribe,
    responseSerialize: passthrough((m: SubscribeResponse) => SubscribeResponse.encode(m)),
  },
  watch: {
    ...RegistryServiceService.watch,
    responseSerialize: passthrough((m: WatchResponse) => WatchResponse.encode(m)),
  },
} satisfies ServiceDefinition;
