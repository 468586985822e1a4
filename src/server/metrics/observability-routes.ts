/**
 * The monitoring routes of the HTTP port: `/metrics` (Prometheus text format, admitted by the one
 * access decision), `/livez` and `/readyz` (open to every caller, as Kubernetes probes and load
 * balancers expect; they tell nothing but up or not and why), and the timing of every HTTP request
 * by route pattern and status.
 */
import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../../auth/access-control.js';
import { httpCredentials } from '../http-auth.js';
import type { RouteRegistrar } from '../http-server.js';
import type { NodeMetrics, Readiness } from './node-metrics.js';

export const METRICS_PATH = '/metrics';
export const LIVENESS_PATH = '/livez';
export const READINESS_PATH = '/readyz';

export interface ObservabilityDeps {
  /** Undefined: no /metrics and no request timing (`--metrics off`); the probes stay. */
  readonly metrics: NodeMetrics | undefined;
  readonly readiness: () => Readiness;
  readonly access: AccessControl;
  /** `/metrics` open to every caller even with auth on (`--metrics-auth off`). */
  readonly metricsOpen: boolean;
}

/** Registers the routes; must come before the APIs' registrars so the timing hook sees every route. */
export function observabilityRoutes(deps: ObservabilityDeps): RouteRegistrar {
  return (app: FastifyInstance) => {
    const { metrics } = deps;
    if (metrics !== undefined) {
      app.addHook('onResponse', (request, reply, done) => {
        metrics.observeRequest('http', `${request.method} ${request.routeOptions.url ?? 'unmatched'}`, String(reply.statusCode), reply.elapsedTime / 1000);
        done();
      });
      app.get(METRICS_PATH, async (request, reply) => {
        const a = await deps.access.admitMetrics(httpCredentials(request.headers), deps.metricsOpen);
        if (!a.ok) {
          if (!a.authenticated) void reply.header('www-authenticate', 'Basic realm="herald", charset="UTF-8"');
          return reply
            .code(a.authenticated ? 403 : 401)
            .type('text/plain; charset=utf-8')
            .send(a.message);
        }
        const { contentType, text } = await metrics.scrape();
        return reply.header('cache-control', 'no-store').type(contentType).send(text);
      });
    }
    app.get(LIVENESS_PATH, async (_request, reply) => reply.header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('ok\n'));
    app.get(READINESS_PATH, async (_request, reply) => {
      const r = deps.readiness();
      return reply
        .code(r.ready ? 200 : 503)
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send(r.ready ? 'ready\n' : `not ready: ${r.state}\n`);
    });
  };
}
