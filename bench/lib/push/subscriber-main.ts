/**
 * A subscriber load process: many subscribers to one service, each on its own connection, of one
 * of three kinds:
 *
 * - `transport`: the project's RegistryTransport (grpc-js + full ServiceInfo decode + RxJS), i.e.
 *   what an application pays per push of a snapshot;
 * - `stream`: the same client following the service over a Watch stream of deltas, each applied
 *   and checked against the checksum (what the SDK does);
 * - `light`: the same Subscribe stream over LightGrpcConnection (node:http2); the message stays
 *   bytes and only the change tag is read out of it, so the load generator costs less CPU and
 *   more of the machine is left to the server under test.
 *
 * Every snapshot is timestamped on arrival and tallied (subscriber-load.ts, subscriber-tally.ts).
 * Started by the push benchmarks (ChangeRun), never by hand.
 */
import { RegistryServiceService, SubscribeRequest } from '../../../src/gen/herald/v1/registry_service.js';
import { separateTransport } from '../bench-client.js';
import { LightGrpcConnection } from '../light-grpc-connection.js';
import { readTag, readTagFromMessage } from './changes.js';
import type { SubscriberLoadConfig } from './load-protocol.js';
import { serveSubscriberLoad, type SubscriberEvents } from './subscriber-load.js';

/** Opens one subscriber; returns its close function. */
function openTransport(config: SubscriberLoadConfig, events: SubscriberEvents): () => void {
  const transport = separateTransport(config.address, undefined, config.security);
  const states =
    config.kind === 'stream'
      ? transport.follow({ namespace: '', group: '', service: config.service, clusters: [], healthyOnly: false })
      : transport.subscribe(SubscribeRequest.fromPartial({ service: config.service }));
  const subscription = states.subscribe({
    next: (info) => {
      events.onSnapshot(readTag(info, config.taggedInstanceId));
    },
    error: (e: unknown) => {
      events.onError(e instanceof Error ? e : new Error(String(e)));
    },
  });
  return () => {
    subscription.unsubscribe();
    transport.close();
  };
}

const subscribeMethod = RegistryServiceService.subscribe;

function openLight(config: SubscriberLoadConfig, events: SubscriberEvents): () => void {
  if (config.security !== undefined) throw new Error('light subscribers have no TLS or credentials: use transport');
  const connection = new LightGrpcConnection(config.address);
  const cancel = connection.serverStream(subscribeMethod.path, subscribeMethod.requestSerialize(SubscribeRequest.fromPartial({ service: config.service })), {
    onMessage: (message) => {
      events.onSnapshot(readTagFromMessage(message));
    },
    onEnd: (error) => {
      events.onError(error ?? new Error('stream ended'));
    },
  });
  return () => {
    cancel();
    connection.close();
  };
}

serveSubscriberLoad<SubscriberLoadConfig>((config, events) => (config.kind === 'light' ? openLight(config, events) : openTransport(config, events)));
