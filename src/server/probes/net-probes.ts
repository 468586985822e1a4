/**
 * The probes themselves, on Node's sockets (never blocking the event loop): a TCP connect, or an
 * HTTP GET whose 2xx or 3xx answer is healthy (Nacos's checkers). Each settles within its timeout;
 * the socket is always destroyed.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface ProbeTarget {
  readonly kind: 'tcp' | 'http';
  readonly ip: string;
  readonly port: number;
  /** HTTP only. */
  readonly path: string;
  readonly timeoutMs: number;
}

/** Probes a target; resolves true when healthy, false otherwise (never rejects). */
export type Probe = (target: ProbeTarget) => Promise<boolean>;

export const netProbe: Probe = (t) => (t.kind === 'tcp' ? tcpProbe(t) : httpProbe(t));

function tcpProbe(t: ProbeTarget): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: t.ip, port: t.port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => {
      done(false);
    }, t.timeoutMs);
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

function httpProbe(t: ProbeTarget): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(ok);
    };
    const req = request({ host: t.ip, port: t.port, path: t.path, method: 'GET', agent: false, headers: { 'user-agent': 'herald-health-probe' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done(status >= 200 && status < 400);
    });
    const timer = setTimeout(() => {
      done(false);
    }, t.timeoutMs);
    req.once('error', () => {
      done(false);
    });
    req.end();
  });
}
