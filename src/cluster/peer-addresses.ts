/**
 * The peer lists: `host:port` entries (herald's gRPC peers) and Eureka service URLs, the node's own
 * entry skipped. An entry is this node when its port is the node's gRPC (or HTTP) port and its host
 * is one of the node's addresses (or a name for them); a peer that answers with this node's id is
 * recognised later too (see Cluster).
 */
import { networkInterfaces } from 'node:os';

/** Parses `host:port,host:port` (IPv6 in brackets). Throws RangeError naming a bad entry. */
export function parsePeers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
    const port = Number(m?.[2]);
    if (m === null || port < 1 || port > 65_535) throw new RangeError(`peer "${entry}" must be host:port`);
    out.push(entry);
  }
  return [...new Set(out)];
}

/** Parses Eureka service URLs `http://host:port/path` (no trailing slash kept). Throws RangeError naming a bad entry. */
export function parseEurekaPeers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new RangeError(`Eureka peer "${entry}" must be a URL such as http://host:8761/eureka`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`Eureka peer "${entry}" must be an http:// or https:// URL`);
    // Credentials in the URL are kept: the link sends them as Basic auth (and never logs them).
    const auth = url.username === '' && url.password === '' ? '' : `${url.username}:${url.password}@`;
    out.push(`${url.protocol}//${auth}${url.host}${url.pathname.replace(/\/+$/, '')}`);
  }
  return [...new Set(out)];
}

function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** The names and addresses this host answers to. */
export function localHosts(boundHost: string): Set<string> {
  const hosts = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '::', boundHost]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) hosts.add(a.address);
  return hosts;
}

/** Splits Eureka service URLs into the node's own (its HTTP port on a local host) and the others. */
export function otherEurekaPeers(urls: readonly string[], ownHttpPort: number | undefined, boundHost: string): { self: string[]; others: string[] } {
  const local = localHosts(boundHost);
  const self: string[] = [];
  const others: string[] = [];
  for (const u of urls) {
    const url = new URL(u);
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const isSelf = ownHttpPort !== undefined && port === ownHttpPort && (local.has(host) || host.startsWith('127.'));
    (isSelf ? self : others).push(u);
  }
  return { self, others };
}

/** Splits the configured peers into the node itself and the others. */
export function otherPeers(peers: readonly string[], ownPort: number, boundHost: string): { self: string[]; others: string[] } {
  const local = localHosts(boundHost);
  const self: string[] = [];
  const others: string[] = [];
  for (const p of peers) {
    const h = hostOf(p);
    const isSelf = portOf(p) === ownPort && (local.has(h) || h.startsWith('127.'));
    (isSelf ? self : others).push(p);
  }
  return { self, others };
}

/** A URL without its credentials, for status and logs. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    return `${u.protocol}//${u.host}${u.pathname}${u.search}`;
  } catch {
    return url;
  }
}
