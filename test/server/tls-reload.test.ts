/**
 * TLS certificates replaced while the server runs (--tls-cert/--tls-key are watched): a new pair
 * is served on new connections, gRPC and HTTP alike, without a restart; a half-written or garbage
 * file is logged and the previous pair keeps serving. Certificates come from a CA made at run time.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/client/index.js';
import { createTestPki, opensslMissing, servedCertificate } from '../support/test-pki.js';
import { onCleanup, record, recordingLogger, startServer, type LogLine, type Recording } from '../support/server.js';

const missing = opensslMissing();

/** Waits for a line with `message` (a prefix) logged after this call. */
function nextLine(lines: Recording<LogLine>, message: string): Promise<LogLine> {
  const from = lines.values.length;
  return lines.until((l) => l.message.startsWith(message) && lines.values.lastIndexOf(l) >= from, `"${message}" logged`);
}

describe.skipIf(missing !== undefined)('TLS certificate reload', () => {
  it('serves a rewritten pair on new gRPC and HTTP connections, and keeps the old one when the new files are broken', async () => {
    const pki = createTestPki();
    onCleanup(() => {
      pki.remove();
    });
    const a = pki.issue('server-a');
    const b = pki.issue('server-b');
    // The files the server watches: cert A now, rewritten in place later.
    const certFile = join(pki.dir, 'served.pem');
    const keyFile = join(pki.dir, 'served-key.pem');
    copyFileSync(a.cert, certFile);
    copyFileSync(a.key, keyFile);
    const { logger, lines } = recordingLogger();
    const server = await startServer({ tlsCert: certFile, tlsKey: keyFile, reloadIntervalMs: 20 }, { logger });
    const ca = pki.read(pki.ca);
    const httpPort = server.httpPort ?? 0;
    const cn = async (port: number): Promise<unknown> => (await servedCertificate(port, ca)).subject.CN;
    expect([await cn(server.port), await cn(httpPort)]).toEqual(['server-a', 'server-a']);

    // A client connected before the change keeps working across it.
    const client = createRegistryClient({ servers: [`127.0.0.1:${server.port}`], security: { tls: { ca } } });
    onCleanup(() => client.close());
    const events = record(client.watch$('orders'));
    await events.until(() => true, 'the first snapshot over TLS');

    // Rewrite both files in place with B (in one turn of the event loop: the watch sees both at once).
    const reloaded = nextLine(lines, 'TLS certificate reloaded');
    writeFileSync(certFile, readFileSync(b.cert));
    writeFileSync(keyFile, readFileSync(b.key));
    await reloaded;
    expect([await cn(server.port), await cn(httpPort)]).toEqual(['server-b', 'server-b']);

    // A half-written certificate (its first half) and then garbage: both refused, B stays.
    const pem = readFileSync(pki.issue('server-c').cert, 'utf8');
    const halfRefused = nextLine(lines, 'TLS files not reloaded');
    writeFileSync(certFile, pem.slice(0, pem.length / 2));
    const half = await halfRefused;
    expect(half).toMatchObject({ level: 'error', message: 'TLS files not reloaded (the previous certificate stays in use)' });
    expect(String(half.fields.err)).toContain('the TLS files do not make a usable pair');
    expect([await cn(server.port), await cn(httpPort)]).toEqual(['server-b', 'server-b']);
    const garbageRefused = nextLine(lines, 'TLS files not reloaded');
    writeFileSync(certFile, 'not a certificate at all\n');
    await garbageRefused;
    expect([await cn(server.port), await cn(httpPort)]).toEqual(['server-b', 'server-b']);

    // The client that connected under A still gets pushes.
    const other = createRegistryClient({ servers: [`127.0.0.1:${server.port}`], security: { tls: { ca } } });
    onCleanup(() => other.close());
    other.register({ service: 'orders', ip: '10.0.0.1', port: 80 });
    await events.until((e) => e.snapshot.hosts.length === 1, 'the registration pushed over the old connection');
    expect(lines.values.filter((l) => l.message === 'TLS certificate reloaded')).toHaveLength(1);
  });
});

if (missing !== undefined) {
  describe('TLS certificate reload', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
