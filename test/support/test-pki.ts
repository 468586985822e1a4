/**
 * A private PKI made at run time with the openssl CLI: a CA, and certificates it signs for servers
 * (SANs 127.0.0.1, ::1 and localhost by default) and clients. Files go to a temporary directory
 * removed after the test. Nothing is committed: every run makes its own keys.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
