/** The HTTP server of the Nacos v1 open API (fastify): listens, serves the routes, closes. */
import Fastify, { type FastifyInstance } from 'fastify';
import { formatAddress } from '../config.js';
import { registerNacosRoutes, type NacosApiDeps, type NacosRequestCounts } from './nacos-api.js';

export interface NacosHttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
}

export class NacosHttpServer {
  private constructor(
    private readonly app: FastifyInstance,
    readonly port: number,
    /** Requests served per route. */
    readonly requests: Readonly<NacosRequestCounts>,
  ) {}

  static async start(options: NacosHttpServerOptions, deps: NacosApiDeps): Promise<NacosHttpServer> {
    const app = Fastify({ logger: false, bodyLimit: options.bodyLimit, ignoreTrailingSlash: true, forceCloseConnections: true });
    // Nacos clients send form bodies (or nothing) with every method; fastify's JSON default would reject them.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
    });
    const requests = registerNacosRoutes(app, deps);
    try {
      await app.listen({ host: options.host, port: options.port });
    } catch (e) {
      await app.close();
      throw new Error(`cannot listen on ${formatAddress(options.host, options.port)} (HTTP): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const address = app.server.address();
    return new NacosHttpServer(app, typeof address === 'object' && address !== null ? address.port : options.port, requests);
  }

  /** Stops accepting and closes open connections. Idempotent. */
  async close(): Promise<void> {
    await this.app.close();
  }
}
