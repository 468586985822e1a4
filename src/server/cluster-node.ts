/**
 * This node's part in the cluster, from the configuration: its peers (herald nodes over gRPC,
 * Eureka servers over their REST API), the replication dispatcher's settings, the start-up sync and
 * anti-entropy intervals.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { HttpTls } from '../common/http-request.js';
import { Cluster } from '../cluster/cluster.js';
import type { PeerLink } from '../cluster/peer-link.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';
import type { ServerConfig } from './config.js';
import { EurekaPeerLink } from './eureka/eureka-peer-link.js';
import type { NodeCore } from './node-core.js';
import { GrpcPeerLink } from './peer/grpc-peer-link.js';

/** Builds the link to a herald peer (tests wrap it to inject faults); credentials are TLS when the node serves TLS. */
export type PeerLinkFactory = (address: string, secret: string | undefined, callTimeoutMs: number, credentials?: ChannelCredentials) => PeerLink;

export interface ClusterNodeDeps {
  readonly core: NodeCore;
  readonly config: ServerConfig;
  /** The node's bound gRPC and HTTP ports (to recognise itself in the peer lists). */
  readonly grpcPort: number;
  readonly httpPort: number | undefined;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly peerLinkFactory?: PeerLinkFactory;
  /** TLS credentials for calls to herald peers (the node serves TLS); plain text when undefined. */
  readonly peerCredentials?: ChannelCredentials;
  /** CA bundle and client certificate for https Eureka peers (read per call: they are reloaded). */
  readonly peerHttpTls?: () => HttpTls | undefined;
}

/** Creates the cluster and starts replicating; the caller runs its start-up sync. */
export function startClusterNode(d: ClusterNodeDeps): Cluster {
  const c = d.config;
  const heraldLink = d.peerLinkFactory ?? ((address, secret, timeout, creds) => new GrpcPeerLink(address, secret, timeout, creds));
  const cluster = new Cluster({
    registry: d.core.registry,
    ownPort: d.grpcPort,
    boundHost: c.host,
    ownHttpPort: d.httpPort,
    clock: d.clock,
    timers: d.timers,
    logger: d.logger.child({ component: 'cluster' }),
    config: {
      peers: c.peers,
      eurekaPeers: c.eurekaPeers,
      ...(c.nodeId === undefined ? {} : { nodeId: c.nodeId }),
      syncTimeoutMs: c.syncTimeoutMs,
      verifyIntervalMs: c.verifyIntervalMs,
      dispatcher: {
        maxBatchSize: c.replicationBatchSize,
        batchDelayMs: c.replicationBatchDelayMs,
        taskExpiryMs: c.replicationTaskExpiryMs,
        maxQueueSize: c.replicationQueueSize,
        retryBaseMs: Math.min(c.replicationRetryBaseMs, c.replicationRetryMaxMs),
        retryMaxMs: c.replicationRetryMaxMs,
      },
    },
    links: {
      herald: (address) => heraldLink(address, c.clusterSecret, c.peerCallTimeoutMs, d.peerCredentials),
      eureka: (url) => new EurekaPeerLink(url, c.eurekaNamespace, c.peerCallTimeoutMs, c.clusterSecret, d.peerHttpTls),
    },
  });
  cluster.start();
  return cluster;
}
