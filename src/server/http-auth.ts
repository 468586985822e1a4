/**
 * The HTTP side of the one access decision, for the Nacos and Eureka APIs: credentials from a
 * request (an `Authorization: Bearer|Basic` header; Nacos's `accessToken`, `username` and
 * `password` parameters or `accessToken` header), the cluster secret a peer sends, and how each API
 * answers a refusal: Nacos with 403 for both (as the Nacos server does, which its clients expect),
 * Eureka with 401 and a Basic challenge, or 403 (as Spring Security in front of Eureka does). The
 * decision itself is AccessControl's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Admission } from '../auth/access-control.js';
import type { Credentials } from '../auth/authenticator.js';
import { CLUSTER_SECRET_HEADER, credentialsFromAuthorization } from './grpc-auth.js';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Credentials of an HTTP request: its Authorization header. */
export function httpCredentials(headers: IncomingHttpHeaders): Credentials {
  return credentialsFromAuthorization(header(headers, 'authorization'));
}

/**
 * Credentials of a Nacos request, as the Nacos server reads them: an access token (`accessToken`
 * parameter or header), else `username` and `password` parameters (what the `nacos` npm client
 * sends on every call), else the Authorization header.
 */
export function nacosCredentials(headers: IncomingHttpHeaders, params: Readonly<Record<string, string | undefined>>): Credentials {
  const token = params.accessToken ?? header(headers, 'accesstoken');
  if (token !== undefined && token !== '') return { kind: 'bearer', token };
  const { username, password } = params;
  if (username !== undefined && username !== '' && password !== undefined) return { kind: 'password', username, password };
  return httpCredentials(headers);
}

/**
 * The cluster secret an HTTP peer sends: the `x-herald-cluster-secret` header (herald's peers), or
 * the password of Basic credentials (a Eureka server configured with
 * `http://herald:<secret>@host:8848/eureka` as its peer URL).
 */
export function httpClusterSecret(headers: IncomingHttpHeaders): string | undefined {
  const given = header(headers, CLUSTER_SECRET_HEADER);
  if (given !== undefined) return given;
  const c = httpCredentials(headers);
  return c.kind === 'password' ? c.password : undefined;
}

type Refusal = Extract<Admission, { ok: false }>;

/** A refusal as the Nacos server answers it: 403 with the reason. */
export function nacosRefusal(reply: FastifyReply, a: Refusal): FastifyReply {
  return reply.code(403).type('text/plain; charset=utf-8').send(`caused: ${a.message};`);
}

/** A refusal as Spring Security in front of Eureka answers it: 401 with a Basic challenge, or 403. */
export function eurekaRefusal(reply: FastifyReply, a: Refusal): FastifyReply {
  if (!a.authenticated) void reply.header('www-authenticate', 'Basic realm="herald", charset="UTF-8"');
  return reply
    .code(a.authenticated ? 403 : 401)
    .type('text/plain; charset=utf-8')
    .send(a.message);
}

/**
 * Credentials of a Consul request, as a Consul agent reads its ACL token: the `X-Consul-Token`
 * header, else the `token` query parameter, else the Authorization header (`Bearer <token>`, or
 * Basic).
 */
export function consulCredentials(headers: IncomingHttpHeaders, token: string | undefined): Credentials {
  const given = header(headers, 'x-consul-token') ?? token;
  if (given !== undefined && given !== '') return { kind: 'bearer', token: given };
  return httpCredentials(headers);
}

/** A refusal as Consul answers it: 403 with the reason (Consul answers a missing or wrong token 403 too). */
export function consulRefusal(reply: FastifyReply, a: Refusal): FastifyReply {
  return reply
    .code(403)
    .type('text/plain; charset=utf-8')
    .send(a.authenticated ? `Permission denied: ${a.message}` : `ACL not found: ${a.message}`);
}
