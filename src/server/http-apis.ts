/**
 * The HTTP APIs a node serves on its HTTP port (the Nacos v1 open API, the Eureka REST API, the
 * Consul-compatible API and the web console, each optional, and Prometheus's HTTP service discovery whenever the port is on), registered on the shared fastify server (HTTPS when the node has TLS
 * files), admitted by the node's access decision, with their request counters.
 */
import type { AccessControl } from '../auth/access-control.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import type { ServerConfig } from './config.js';
import { DurableReplies } from './durable-replies.js';
import { registerEurekaRoutes, type EurekaRequestCounts } from './eureka/eureka-api.js';
import { HttpServer, type RouteRegistrar } from './http-server.js';
import { registerConsoleRoutes } from './console/console-api.js';
import { nodeJson } from './console/console-json.js';
import { nodeTimers, type Timers } from '../common/timers.js';
import { BlockingQueries } from './consul/consul-blocking.js';
import { registerConsulRoutes, type ConsulRequestCounts } from './consul/consul-api.js';
import { registerNacosRoutes, type NacosRequestCounts } from './nacos/nacos-api.js';
import { registerPrometheusSdRoutes } from './prometheus-sd/prometheus-sd-api.js';
import type { NodeCore } from './node-core.js';
import type { TlsFiles } from './tls-files.js';

/** What the HTTP APIs share with the rest of the node. */
export interface HttpApiContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly access: AccessControl;
  readonly tls: TlsFiles | undefined;
  /** Timers of the console's event streams (default Node's, unref'd). */
  readonly timers?: Timers;
  /** Routes served before the APIs' (the monitoring routes: /metrics, /livez, /readyz); the HTTP port opens for them alone too. */
  readonly monitoring?: RouteRegistrar | undefined;
}

export interface HttpApis {
  readonly server: HttpServer;
  /** Requests served per route (undefined when that API is off). */
  readonly nacosRequests: Readonly<NacosRequestCounts> | undefined;
  readonly eurekaRequests: Readonly<EurekaRequestCounts> | undefined;
  readonly consulRequests: Readonly<ConsulRequestCounts> | undefined;
}

/** Starts the HTTP server with the APIs that are on (and the console); undefined when all are off and there are no monitoring routes. */
export async function startHttpApis(core: NodeCore, c: ServerConfig, ctx: HttpApiContext, cluster: () => Cluster | undefined): Promise<HttpApis | undefined> {
  const { clock, logger, access } = ctx;
  const udp = core.udp;
  const durable = new DurableReplies(core.barrier);
  const registrars: RouteRegistrar[] = [
    ...(ctx.monitoring === undefined ? [] : [ctx.monitoring]),
    (app) => {
      durable.install(app);
    },
  ];
  let nacosRequests: NacosRequestCounts | undefined;
  let eurekaRequests: EurekaRequestCounts | undefined;
  let consulRequests: ConsulRequestCounts | undefined;
  if (c.nacosApi) {
    registrars.push((app) => {
      nacosRequests = registerNacosRoutes(app, {
        registry: core.registryFor('nacos'),
        logger,
        access,
        durable,
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
        registry: core.registryFor('eureka'),
        durable,
        clock,
        logger,
        access,
        basePath: c.eurekaBasePath,
        namespace: c.eurekaNamespace,
        nodeId: () => cluster()?.nodeId ?? c.nodeId ?? '',
      });
    });
  }
  if (c.consulApi) {
    registrars.push((app) => {
      const blocking = new BlockingQueries({ hub: core.hub, registry: core.registry, timers: ctx.timers ?? nodeTimers, maxWaiters: c.consulMaxBlockingQueries });
      app.addHook('onClose', (_app, done) => {
        blocking.close();
        done();
      });
      consulRequests = registerConsulRoutes(app, {
        registry: core.registry,
        blocking,
        durable,
        clock,
        logger,
        access,
        namespace: c.consulNamespace,
        nodeName: () => cluster()?.nodeId ?? (c.nodeId === undefined || c.nodeId === '' ? 'herald' : c.nodeId),
      });
    });
  }
  if (c.console) {
    registrars.push((app) => {
      registerConsoleRoutes(app, {
        registry: core.registry,
        durable,
        hub: core.hub,
        access,
        clock,
        timers: ctx.timers ?? nodeTimers,
        logger: logger.child({ component: 'console' }),
        node: () => {
          const cl = cluster();
          return nodeJson(core.nodeStatus(cl?.nodeId ?? c.nodeId ?? ''), cl?.synced ?? true, cl?.status() ?? []);
        },
      });
    });
  }
  if (registrars.length === 1) return undefined;
  // Prometheus's HTTP service discovery, on whenever the HTTP port is.
  registrars.push((app) => {
    registerPrometheusSdRoutes(app, { registry: core.registry, access });
  });
  const server = await HttpServer.start({ host: c.host, port: c.httpPort, bodyLimit: c.maxMessageBytes, tls: ctx.tls }, registrars);
  return { server, nacosRequests, eurekaRequests, consulRequests };
}
