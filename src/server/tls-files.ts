/**
 * The node's TLS material (--tls-cert, --tls-key, --tls-ca), loaded at start and reloaded when the
 * files change, without a restart: a new pair is checked (the key matches the certificate, the PEM
 * parses) before it is used, and a broken or half-written file is logged and ignored, so the node
 * keeps serving with the previous pair. It is a grpc-js CertificateProvider (the gRPC server's and
 * the peer links' credentials follow it) and tells the HTTP server to switch its secure context.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { credentials, experimental, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';
import { FileWatch } from '../common/file-watch.js';

type CaListener = Parameters<experimental.CertificateProvider['addCaCertificateListener']>[0];
type IdentityListener = Parameters<experimental.CertificateProvider['addIdentityCertificateListener']>[0];

export interface TlsPaths {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle: client certificates are required and verified with it; peers are verified with it. */
  readonly caFile: string | undefined;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

async function readMaterial(p: TlsPaths): Promise<TlsMaterial> {
  const read = async (what: string, file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
  const m = { cert: await read('certificate', p.certFile), key: await read('key', p.keyFile), ca: p.caFile === undefined ? undefined : await read('CA bundle', p.caFile) };
  try {
    // Throws when a PEM does not parse or the key does not match the certificate.
    createSecureContext({ cert: m.cert, key: m.key, ...(m.ca === undefined ? {} : { ca: m.ca }) });
  } catch (e) {
    throw new Error(
      `the TLS files do not make a usable pair (${p.certFile}, ${p.keyFile}${p.caFile === undefined ? '' : `, ${p.caFile}`}): ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
  return m;
}

export class TlsFiles implements experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly updateListeners = new Set<(m: TlsMaterial) => void>();
  private watch: FileWatch | undefined;

  private constructor(
    private readonly paths: TlsPaths,
    private material: TlsMaterial,
    private readonly logger: Logger,
  ) {}

  /** Loads the files (an error names the file) and watches them every `intervalMs`. */
  static async load(paths: TlsPaths, timers: Timers, intervalMs: number, logger: Logger): Promise<TlsFiles> {
    const files = new TlsFiles(paths, await readMaterial(paths), logger);
    const watch = new FileWatch({
      paths: [paths.certFile, paths.keyFile, ...(paths.caFile === undefined ? [] : [paths.caFile])],
      intervalMs,
      timers,
      onChange: () => void files.reload(),
    });
    await watch.start();
    files.watch = watch;
    return files;
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /** Whether client certificates are required (a CA bundle was given). */
  get mutual(): boolean {
    return this.paths.caFile !== undefined;
  }

  /** Re-reads the files; a pair that does not work is logged and the previous one kept. */
  async reload(): Promise<void> {
    let next: TlsMaterial;
    try {
      next = await readMaterial(this.paths);
    } catch (e) {
      this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'TLS files not reloaded (the previous certificate stays in use)');
      return;
    }
    this.material = next;
    this.logger.info({ cert: this.paths.certFile }, 'TLS certificate reloaded');
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    if (next.ca !== undefined) for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.updateListeners) l(next);
  }

  /** Called with the new material after each reload (the HTTP server switches its context). */
  onUpdate(listener: (m: TlsMaterial) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    const ca = this.material.ca;
    process.nextTick(() => {
      listener(ca === undefined ? null : { caCertificate: ca });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    const m = this.material;
    process.nextTick(() => {
      listener({ certificate: m.cert, privateKey: m.key });
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  /** The gRPC server's credentials: this certificate, and client certificates verified when mutual. */
  serverCredentials(): ServerCredentials {
    // grpc-js 1.14 passes this function's first two arguments to the credentials' constructor as
    // (identity, ca): the provider serves both, and null means "no client certificates".
    return experimental.createCertificateProviderServerCredentials(this, this.mutual ? this : null, this.mutual);
  }

  /**
   * Credentials for this node's calls to its peers: their certificates verified with the CA bundle
   * (this node presenting its own, for mutual TLS), or with the system's roots when there is none.
   */
  peerChannelCredentials(): ChannelCredentials {
    if (!this.mutual) return credentials.createSsl();
    return experimental.createCertificateProviderChannelCredentials(this, this);
  }

  close(): void {
    this.watch?.close();
    this.caListeners.clear();
    this.identityListeners.clear();
    this.updateListeners.clear();
  }
}

/** Server credentials for a node: TLS from `files`, or plain text. */
export function grpcServerCredentials(files: TlsFiles | undefined): ServerCredentials {
  return files === undefined ? ServerCredentials.createInsecure() : files.serverCredentials();
}
