/**
 * The HTTP APIs a node serves on its HTTP port (the Nacos v1 open API and the Eureka REST API,
 * each optional), registered on the shared fastify server, with their request counters.
 */
import type { Cluster } from '../cluster/cluster.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import type { ServerConfig } from './config.js';
import { registerEurekaRoutes, type EurekaRequestCounts } from './eureka/eureka-api.js';
import { HttpServer, type RouteRegistrar } from './http-server.js';
import { registerNacosRoutes, type NacosRequestCounts } from './nacos/nacos-api.js';
import type { NodeCore } from './node-core.js';

export interface HttpApis {
  readonly server: HttpServer;
  /** Requests served per route (undefined when that API is off). */
  readonly nacosRequests: Readonly<NacosRequestCounts> | undefined;
  readonly eurekaRequests: Readonly<EurekaRequestCounts> | undefined;
}

/** Starts the HTTP server with the APIs that are on; undefined when both are off. */
export async function startHttpApis(core: NodeCore, c: ServerConfig, clock: Clock, logger: Logger, cluster: () => Cluster | undefined): Promise<HttpApis | undefined> {
  const udp = core.udp;
  const registrars: RouteRegistrar[] = [];
  let nacosRequests: NacosRequestCounts | undefined;
  let eurekaRequests: EurekaRequestCounts | undefined;
  if (c.nacosApi) {
    registrars.push((app) => {
      nacosRequests = registerNacosRoutes(app, {
        registry: core.registry,
        logger,
        timing: { beatIntervalMs: c.nacosBeatIntervalMs, beatTimeoutMs: c.nacosBeatTimeoutMs, ipDeleteTimeoutMs: c.nacosIpDeleteTimeoutMs },
        cacheMillis: () => core.cacheMillis,
        serviceInfoJson: (view, clusters, cacheMillis) => core.nacosJson.json(view, clusters, cacheMillis),
        subscriberCount: () => core.hub.stats().subscribers,
        ...(udp === undefined
          ? {}
          : {
              onUdpPull: ({ ref, address, port, clusters, healthyOnly }) => {
                udp.touch(ref, address, port, clusters, { clusters: clusters.split(','), healthyOnly });
              },
            }),
      });
    });
  }
  if (c.eurekaApi) {
    registrars.push((app) => {
      eurekaRequests = registerEurekaRoutes(app, {
        registry: core.registry,
        clock,
        logger,
        basePath: c.eurekaBasePath,
        namespace: c.eurekaNamespace,
        nodeId: () => cluster()?.nodeId ?? c.nodeId ?? '',
      });
    });
  }
  if (registrars.length === 0) return undefined;
  const server = await HttpServer.start({ host: c.host, port: c.httpPort, bodyLimit: c.maxMessageBytes }, registrars);
  return { server, nacosRequests, eurekaRequests };
}
