/**
 * A subscriber load process of bench/versus-etcd: `subscribers` followers of one service, each on
 * its own connection, herald or etcd clients (subscribers.ts), tallied by bench/lib/push's
 * subscriber load. Started by the benchmark (ChangeRun.openLoads), never by hand.
 */
import { serveSubscriberLoad } from '../lib/push/subscriber-load.js';
import { openEtcdSubscriber, openHeraldSubscriber, type VersusSubscriberConfig } from './subscribers.js';

serveSubscriberLoad<VersusSubscriberConfig>((config, events) => (config.system === 'etcd' ? openEtcdSubscriber(config, events) : openHeraldSubscriber(config, events)));
