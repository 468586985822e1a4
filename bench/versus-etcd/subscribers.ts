/**
 * One follower of a service, on its own connection, holding the service's state the way an
 * application does and reporting the change tag it holds after every message:
 *
 * - herald `snapshot`: Subscribe; every message is a full ServiceInfo that replaces the state;
 * - herald `delta`: Subscribe with deltas; a snapshot, then ServiceDeltas applied to it;
 * - herald `watch`: a Watch stream with one watch (snapshot, then deltas);
 * - etcd: Range over the service's prefix (JSON.parse of every value), then a Watch from the next
 *   revision whose events are applied to that map (JSON.parse of every PUT value).
 *
 * A herald that does not implement the variant fails it with a message that says so.
 */
import { grpcCode } from './grpc-loaded.js';
import type { PushLoadConfig } from '../lib/push/load-protocol.js';
import type { SubscriberEvents } from '../lib/push/subscriber-load.js';
import { EtcdClient, type WatchResponse } from './etcd-client.js';
import { EtcdServiceView } from './etcd-registry.js';
import { HeraldClient, type HeraldView, type ServiceDelta, type ServiceInfo, type WatchResponse as HeraldWatchResponse } from './herald-client.js';
import { HeraldServiceView } from './herald-view.js';
import { servicePrefix } from './instances.js';

/** How a herald follower gets its pushes. */
export type HeraldPush = 'snapshot' | 'delta' | 'watch';

export const HERALD_PUSH: readonly HeraldPush[] = ['snapshot', 'delta', 'watch'];

export interface VersusSubscriberConfig extends PushLoadConfig {
  readonly system: 'herald' | 'etcd';
  readonly heraldPush: HeraldPush;
  readonly heraldView: HeraldView;
}

const UNIMPLEMENTED = 12;

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** The error of a herald stream, saying when the server lacks the variant. */
function heraldError(e: unknown, push: HeraldPush): Error {
  if (grpcCode(e) !== UNIMPLEMENTED) return asError(e);
  return new Error(
    `this herald does not implement ${push === 'watch' ? 'Watch' : 'Subscribe'} (UNIMPLEMENTED): use --herald-push snapshot, or a herald that has it (git merge main; npm run build)`,
  );
}

const IGNORED_DELTAS =
  'the server sent a full snapshot where a delta was due: this herald ignores SubscribeRequest.deltas (use --herald-push snapshot, or a herald that has deltas: git merge main; npm run build)';

/** Applies one message (snapshot or delta) to `view`; `first` says whether it is the stream's first. */
function applyMessage(view: HeraldServiceView, push: HeraldPush, first: boolean, info: ServiceInfo | null, delta: ServiceDelta | null): void {
  if (info !== null && (first || push === 'snapshot')) view.snapshot(info);
  else if (delta !== null && !first && push !== 'snapshot') view.delta(delta);
  else if (info !== null) throw new Error(IGNORED_DELTAS);
  else throw new Error(first ? 'the first message is not a snapshot' : 'a message with neither a snapshot nor a delta');
}

export function openHeraldSubscriber(config: VersusSubscriberConfig, events: SubscriberEvents): () => void {
  const client = new HeraldClient(config.address, 'unary', config.heraldView);
  const view = new HeraldServiceView();
  const push = config.heraldPush;
  let first = true;
  let closed = false;
  const call = push === 'watch' ? client.watch(config.service) : client.subscribe(config.service, push === 'delta');
  const fail = (e: Error): void => {
    if (closed) return;
    closed = true;
    events.onError(e);
    call.cancel();
  };
  const onMessage = (info: ServiceInfo | null, delta: ServiceDelta | null): void => {
    try {
      applyMessage(view, push, first, info, delta);
    } catch (e) {
      fail(asError(e));
      return;
    }
    first = false;
    events.onSnapshot(view.tag(config.taggedInstanceId));
  };
  call.on('data', (m: Partial<HeraldWatchResponse> & Pick<HeraldWatchResponse, 'serviceInfo' | 'delta'>) => {
    if (m.canceled === true) fail(new Error(`the watch ended: code ${String(m.errorCode)}: ${String(m.errorMessage)}`));
    else onMessage(m.serviceInfo, m.delta);
  });
  call.on('error', (e: unknown) => {
    fail(heraldError(e, push)); // nothing when closed here (a cancel)
  });
  call.on('end', () => {
    fail(new Error('the server ended the stream'));
  });
  return () => {
    closed = true;
    call.cancel();
    client.close();
  };
}

export function openEtcdSubscriber(config: VersusSubscriberConfig, events: SubscriberEvents): () => void {
  const client = new EtcdClient(config.address);
  const view = new EtcdServiceView();
  const prefix = servicePrefix(config.service);
  const key = `${prefix}${config.taggedInstanceId}`;
  let closed = false;
  let cancelWatch = (): void => {};
  const fail = (e: Error): void => {
    if (closed) return;
    closed = true;
    events.onError(e);
    cancelWatch();
  };
  client.range(prefix).then(
    (r) => {
      if (closed) return;
      view.load(r.kvs);
      const call = client.watch(prefix, BigInt(r.header?.revision ?? '0') + 1n);
      cancelWatch = () => {
        call.cancel();
      };
      call.on('data', (w: WatchResponse) => {
        if (w.canceled) fail(new Error(`etcd canceled the watch: ${w.cancelReason}`));
        else if (w.created)
          events.onSnapshot(view.tag(key)); // the Range's state, now followed
        else if (w.events.length > 0) {
          try {
            view.apply(w.events);
          } catch (e) {
            fail(asError(e));
            return;
          }
          events.onSnapshot(view.tag(key));
        }
      });
      call.on('error', (e: unknown) => {
        fail(asError(e)); // nothing when closed here (a cancel)
      });
      call.on('end', () => {
        fail(new Error('etcd ended the watch stream'));
      });
    },
    (e: unknown) => {
      fail(asError(e));
    },
  );
  return () => {
    closed = true;
    cancelWatch();
    client.close();
  };
}
