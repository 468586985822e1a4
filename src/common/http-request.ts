/**
 * One HTTP(S) request with a deadline, for links to other servers (Eureka peers): node's http and
 * https clients rather than fetch, so a private CA bundle and a client certificate can be given,
 * and credentials in the URL (`http://user:pass@host/…`) become an Authorization header instead of
 * an error. Answers the status, the headers and the body as text.
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpTls {
  /** PEM CA bundle to verify the server with (default: the system's roots). */
  readonly ca?: Buffer;
  /** PEM client certificate and key (mutual TLS). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface HttpRequestOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  readonly tls?: HttpTls;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export function sendHttp(url: string, o: HttpRequestOptions): Promise<HttpAnswer> {
  const u = new URL(url);
  const headers: OutgoingHttpHeaders = { ...o.headers };
  if (u.username !== '' || u.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  }
  if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
  const secure = u.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        protocol: u.protocol,
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: o.method,
        headers,
        timeout: o.deadlineMs,
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(secure && o.tls !== undefined ? { ...(o.tls.ca === undefined ? {} : { ca: o.tls.ca }), ...(o.tls.cert === undefined ? {} : { cert: o.tls.cert, key: o.tls.key }) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer from ${u.host} within ${o.deadlineMs} ms`));
    }, o.deadlineMs);
    req.on('close', () => {
      clearTimeout(timer);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within ${o.deadlineMs} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}
