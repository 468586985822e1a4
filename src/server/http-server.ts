/**
 * The HTTP server (fastify) shared by the Nacos v1 and Eureka REST APIs: listens (HTTPS with the
 * node's TLS files, switching certificates when they are reloaded), lets each API register its
 * routes, closes.
 */
import { listenError } from './listen-error.js';
import type { Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import { formatAddress } from './config.js';
import type { TlsFiles } from './tls-files.js';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** Serve HTTPS with these files (client certificates required when they hold a CA bundle). */
  readonly tls?: TlsFiles | undefined;
}

/** Adds one API's routes (and any content-type parsers it needs). */
export type RouteRegistrar = (app: FastifyInstance) => void;

export class HttpServer {
  private constructor(
    private readonly app: FastifyInstance,
    readonly port: number,
  ) {}

  static async start(options: HttpServerOptions, registrars: readonly RouteRegistrar[]): Promise<HttpServer> {
    const tls = options.tls;
    const m = tls?.current;
    const https =
      tls === undefined || m === undefined
        ? null
        : { cert: m.cert, key: m.key, ...(m.ca === undefined ? {} : { ca: m.ca }), requestCert: tls.mutual, rejectUnauthorized: tls.mutual };
    // fastify types an HTTPS instance apart; the routes are the same, so the APIs see one type.
    const app = Fastify({
      logger: false,
      bodyLimit: options.bodyLimit,
      routerOptions: { ignoreTrailingSlash: true },
      forceCloseConnections: true,
      ...(https === null ? {} : { https }),
    }) as unknown as FastifyInstance;
    const off = tls?.onUpdate((next) => {
      (app.server as unknown as HttpsServer).setSecureContext({ cert: next.cert, key: next.key, ...(next.ca === undefined ? {} : { ca: next.ca }) });
    });
    app.addHook('onClose', (_instance, done) => {
      off?.();
      done();
    });
    // Nacos clients send form bodies (or nothing) with every method; fastify's JSON default would reject them.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
    });
    for (const register of registrars) register(app);
    try {
      await app.listen({ host: options.host, port: options.port });
    } catch (e) {
      await app.close();
      throw listenError(formatAddress(options.host, options.port), 'HTTP', '--http-port', e);
    }
    const address = app.server.address();
    return new HttpServer(app, typeof address === 'object' && address !== null ? address.port : options.port);
  }

  /** Stops accepting and closes open connections. Idempotent. */
  async close(): Promise<void> {
    await this.app.close();
  }
}
