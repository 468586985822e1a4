/**
 * The HTTP server (fastify) shared by the Nacos v1 and Eureka REST APIs: listens, lets each API
 * register its routes, closes.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { formatAddress } from './config.js';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
}

/** Adds one API's routes (and any content-type parsers it needs). */
export type RouteRegistrar = (app: FastifyInstance) => void;

export class HttpServer {
  private constructor(
    private readonly app: FastifyInstance,
    readonly port: number,
  ) {}

  static async start(options: HttpServerOptions, registrars: readonly RouteRegistrar[]): Promise<HttpServer> {
    const app = Fastify({ logger: false, bodyLimit: options.bodyLimit, routerOptions: { ignoreTrailingSlash: true }, forceCloseConnections: true });
    // Nacos clients send form bodies (or nothing) with every method; fastify's JSON default would reject them.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
    });
    for (const register of registrars) register(app);
    try {
      await app.listen({ host: options.host, port: options.port });
    } catch (e) {
      await app.close();
      throw new Error(`cannot listen on ${formatAddress(options.host, options.port)} (HTTP): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const address = app.server.address();
    return new HttpServer(app, typeof address === 'object' && address !== null ? address.port : options.port);
  }

  /** Stops accepting and closes open connections. Idempotent. */
  async close(): Promise<void> {
    await this.app.close();
  }
}
