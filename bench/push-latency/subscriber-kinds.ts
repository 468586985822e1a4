/**
 * The two kinds of subscriber a load process can run, each on its own connection:
 *
 * - `transport`: the project's RegistryTransport (grpc-js + full ServiceInfo decode + RxJS), i.e.
 *   what an application pays per push;
 * - `light`: the same Subscribe stream over LightGrpcConnection (node:http2); the message stays
 *   bytes and only the change tag is read out of it, so the load generator costs less CPU and
 *   more of the machine is left to the server under test.
 */
import { RegistryServiceService, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { ClientKind } from '../lib/bench-client.js';
import { separateTransport } from '../lib/connections.js';
import { LightGrpcConnection } from '../lib/light-grpc-connection.js';
import { readTag, readTagFromMessage, type ChangeTag } from './change-tag.js';

export type SubscriberKind = ClientKind;

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
  const connection = new LightGrpcConnection(address);
  const cancel = connection.serverStream(subscribeMethod.path, subscribeMethod.requestSerialize(SubscribeRequest.fromPartial({ service })), {
    onMessage: (message) => {
      events.onSnapshot(readTagFromMessage(message));
    },
    onEnd: (error) => {
      events.onError(error ?? new Error('stream ended'));
    },
  });
  return {
    close: () => {
      cancel();
      connection.close();
    },
  };
}
