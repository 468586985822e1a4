/**
 * The node's gRPC server: herald.v1.RegistryService, AuthService, PeerService and ClusterService
 * (each added guarded: a request that cannot be decoded is INVALID_ARGUMENT naming the field; each
 * call admitted by the one access decision), the standard health service (NOT_SERVING until the
 * node is ready) and server reflection, both open to every caller, and the xDS ADS service (each
 * stream authenticated, each resource name admitted by the same decision).
 */
import { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../common/logger.js';
import type { AccessControl } from '../auth/access-control.js';
import { AuthServiceService } from '../gen/herald/v1/auth_service.js';
import { ClusterServiceService, PeerServiceService } from '../gen/herald/v1/peer_service.js';
import { authServiceHandlers } from './auth-service.js';
import { clusterServiceHandlers } from './cluster-service.js';
import { peerIp, type ServerConfig } from './config.js';
import type { NodeCore } from './node-core.js';
import { clusterSecretOf, credentialsOf, guardService } from './grpc-auth.js';
import { peerServiceHandlers } from './peer/peer-service.js';
import { addReflection } from './reflection.js';
import { adsDefinition, createAdsServer } from './xds/ads-service.js';
import type { XdsStats } from './xds/xds-stats.js';
import { registryServiceHandlers } from './registry-service.js';
import { addGuardedService, type UnaryTimer } from './request-decoding.js';
import { registryServiceDefinition } from './service-definition.js';

export const REGISTRY_SERVICE_NAME = 'herald.v1.RegistryService';

export interface GrpcServices {
  readonly server: Server;
  /** Reports SERVING or NOT_SERVING for the server and for herald.v1.RegistryService. */
  setServing(serving: boolean): void;
  /** What was last reported: SERVING (true) or NOT_SERVING. */
  readonly serving: boolean;
  /** Ends every open xDS stream with UNAVAILABLE (graceful shutdown). Idempotent. */
  endXdsStreams(): void;
  xdsStats(): XdsStats;
}

/**
 * Builds the gRPC server over `core`. The cluster starts after the port is bound (it must recognise
 * itself in the peer list), so the services read it through `cluster()` per call.
 */
export function createGrpcServices(core: NodeCore, c: ServerConfig, access: AccessControl, logger: Logger, cluster: () => Cluster | undefined, timer?: UnaryTimer): GrpcServices {
  const server = new Server({
    'grpc.max_receive_message_length': c.maxMessageBytes,
    'grpc.keepalive_time_ms': c.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': c.keepaliveTimeoutMs,
  });
  const udp = core.udp;
  addGuardedService(
    server,
    registryServiceDefinition,
    registryServiceHandlers({
      registry: core.registryFor('grpc'),
      logger,
      access,
      barrier: core.barrier,
      streams: core.streams,
      frames: { full: core.frames, basic: core.basicFrames },
      streamFrames: { full: core.streamFrames, basic: core.basicStreamFrames },
      ...(udp === undefined
        ? {}
        : {
            onPull: (view, peer, port) => {
              const ip = peerIp(peer);
              if (ip === undefined) return;
              const ref = { namespace: view.namespace, group: view.group, service: view.name };
              udp.touch(ref, ip, port, view.clusters.join(','), { clusters: view.clusters, healthyOnly: view.healthyOnly });
            },
          }),
    }),
    timer,
  );
  const nodeId = (): string => cluster()?.nodeId ?? c.nodeId ?? '';
  addGuardedService(server, AuthServiceService, authServiceHandlers(access), timer);
  addGuardedService(
    server,
    PeerServiceService,
    guardService(
      PeerServiceService,
      peerServiceHandlers({
        registry: core.registryFor('peer'),
        nodeId,
        logger,
        barrier: core.barrier,
        onPeerContact: (peer: string) => {
          cluster()?.peerContact(peer);
        },
      }),
      (md) => access.admitPeer(clusterSecretOf(md), credentialsOf(md)),
    ),
    timer,
  );
  addGuardedService(
    server,
    ClusterServiceService,
    guardService(
      ClusterServiceService,
      clusterServiceHandlers({
        nodeId,
        clusterStatus: () => ({ synced: cluster()?.synced ?? false, peers: cluster()?.status() ?? [] }),
        nodeStatus: () => core.nodeStatus(nodeId()),
      }),
      (md) => access.admitClusterView(clusterSecretOf(md), credentialsOf(md)),
    ),
    timer,
  );
  // xDS: proxyless gRPC clients dial xds:///<service> with this port in their bootstrap.
  let markReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const ads = createAdsServer({
    hub: core.hub,
    access,
    logger,
    ready,
    maxStreams: c.maxSubscribeStreams,
    maxStreamsPerConnection: c.maxSubscribeStreamsPerConnection,
    maxNamesPerType: c.maxSubscribeStreamsPerConnection,
  });
  if (c.xds) server.addService(adsDefinition(), ads.handlers);
  const health = new HealthImplementation({ '': 'NOT_SERVING', [REGISTRY_SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  addReflection(server, { xds: c.xds });
  let serving = false;
  return {
    server,
    get serving() {
      return serving;
    },
    endXdsStreams: () => {
      ads.endAll();
    },
    xdsStats: () => ads.stats(),
    setServing: (next) => {
      serving = next;
      if (next) markReady();
      const status = next ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(REGISTRY_SERVICE_NAME, status);
    },
  };
}
