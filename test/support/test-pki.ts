/**
 * A private PKI made at run time with the openssl CLI: a CA, and certificates it signs for servers
 * (SANs 127.0.0.1, ::1 and localhost by default) and clients. Files go to a temporary directory
 * removed after the test. Nothing is committed: every run makes its own keys.
 *
 * `opensslMissing()` says why the TLS tests cannot run here (no openssl CLI); with
 * HERALD_REQUIRE_INTEROP=1 (set by .ci/run) that is an error, not a skip. `servedCertificate()`
 * opens a new TLS connection to a port and reads the certificate it is served.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  /** The CA certificate (PEM file). */
  readonly ca: string;
  /** A certificate for a server (or a peer, which is both), signed by this CA. */
  issue(name: string, sans?: readonly string[]): CertFiles;
  /** Reads a file of this PKI. */
  read(path: string): Buffer;
  remove(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a CA named `name` (two PKIs are two unrelated CAs). */
export function createTestPki(name = 'herald-test-ca'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'herald-pki-'));
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca-key.pem');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', `/CN=${name}`], dir);
  let serial = 1;
  return {
    dir,
    ca,
    issue(certName, sans = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost']) {
      const key = join(dir, `${certName}-key.pem`);
      const csr = join(dir, `${certName}.csr`);
      const cert = join(dir, `${certName}.pem`);
      const ext = join(dir, `${certName}.ext`);
      writeFileSync(ext, `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${certName}`], dir);
      openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-set_serial', String(serial++), '-out', cert, '-days', '2', '-extfile', ext], dir);
      return { cert, key };
    },
    read: (path) => readFileSync(path),
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Why tests that make certificates cannot run here, or undefined when they can. With
 * HERALD_REQUIRE_INTEROP=1 (set by .ci/run) a missing openssl is an error, not a skip.
 */
export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    const reason = 'the openssl CLI is missing: the TLS tests make their certificates with it (install Debian\'s openssl; .ci/run does)';
    if (process.env.HERALD_REQUIRE_INTEROP === '1') throw new Error(reason);
    return reason;
  }
}

/**
 * The certificate a new TLS connection to 127.0.0.1:`port` is served, verified with `ca` (and
 * presenting `client` when the server asks for one). Offers h2 as gRPC clients do. Rejects when the
 * handshake fails.
 */
export function servedCertificate(port: number, ca: Buffer, client?: { cert: Buffer; key: Buffer }): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', servername: 'localhost', port, ca, ALPNProtocols: ['h2', 'http/1.1'], ...(client ?? {}) }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve(cert);
    });
    socket.once('error', (e: Error) => {
      socket.destroy();
      reject(e);
    });
  });
}
