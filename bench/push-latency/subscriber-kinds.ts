/**
 * The two kinds of subscriber a load process can run, each on its own connection:
 *
 * - `transport`: the project's RegistryTransport (grpc-js + full ServiceInfo decode + RxJS), i.e.
 *   what an application pays per push;
 * - `light`: the same gRPC stream through grpc-js, but the frame stays bytes and only the change
 *   tag is read out of it, so the load generator costs less CPU and the server is measured more.
 */
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { RegistryServiceService, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { separateTransport } from '../lib/connections.js';
import { readTag, readTagFromFrame, type ChangeTag } from './change-tag.js';

export type SubscriberKind = 'transport' | 'light';

export interface SubscriberEvents {
  /** A snapshot arrived at `nowMs` (its tag, if it has one). */
  readonly onSnapshot: (tag: ChangeTag | undefined) => void;
  readonly onError: (error: Error) => void;
}

export interface OpenSubscriber {
  close(): void;
}

export function openSubscriber(kind: SubscriberKind, address: string, service: string, taggedInstanceId: string, events: SubscriberEvents): OpenSubscriber {
  return kind === 'transport' ? openTransport(address, service, taggedInstanceId, events) : openLight(address, service, events);
}

function openTransport(address: string, service: string, taggedInstanceId: string, events: SubscriberEvents): OpenSubscriber {
  const transport = separateTransport(address);
  const subscription = transport.subscribe(SubscribeRequest.fromPartial({ service })).subscribe({
    next: (info) => {
      events.onSnapshot(readTag(info, taggedInstanceId));
    },
    error: (e: unknown) => {
      events.onError(e instanceof Error ? e : new Error(String(e)));
    },
  });
  return {
    close: () => {
      subscription.unsubscribe();
      transport.close();
    },
  };
}

const subscribeMethod = RegistryServiceService.subscribe;

function openLight(address: string, service: string, events: SubscriberEvents): OpenSubscriber {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call = client.makeServerStreamRequest(
    subscribeMethod.path,
    subscribeMethod.requestSerialize,
    (frame: Buffer): Buffer => frame,
    SubscribeRequest.fromPartial({ service }),
    new Metadata(),
  );
  let closed = false;
  call.on('data', (frame: Buffer) => {
    events.onSnapshot(readTagFromFrame(frame));
  });
  call.on('error', (e: ServiceError) => {
    if (!closed) events.onError(e);
  });
  return {
    close: () => {
      closed = true;
      call.cancel();
      client.close();
    },
  };
}
