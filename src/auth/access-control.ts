/**
 * The one access decision every transport asks: who is calling (credentials → Principal, through
 * the Authenticator and the auth file, reloaded when it changes), whether they may do what needs a
 * permission on a namespace (permissions.ts), the actor the registrant rule sees, and whether a
 * caller holds the cluster secret. With auth off every caller may do everything and writes carry
 * no actor (herald behaves as before auth existed); peers still need the secret when one is set.
 */
import { readFile } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';
import type { Actor } from '../core/model.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';
import { FileWatch } from '../common/file-watch.js';
import { AccessTokens } from './access-tokens.js';
import { parseAuthFile } from './auth-file.js';
import { Authenticator, type AuthResult, type Credentials } from './authenticator.js';
import { sameSecret } from './credentials.js';
import { authorize, isAdminOf, type Decision, type Permission, type Principal } from './permissions.js';

export interface AccessControlOptions {
  /** The auth file; undefined = auth off. */
  readonly authFile: string | undefined;
  /** HMAC key of access tokens (nodes sharing it accept each other's tokens). */
  readonly tokenKey: Buffer;
  readonly tokenTtlMs: number;
  /** How often the auth file is checked for changes. */
  readonly reloadIntervalMs: number;
  /** The cluster secret; undefined = none. */
  readonly clusterSecret: string | undefined;
}

/** Whoever calls a server with auth off: may do everything, and is no actor for the registrant rule. */
const OPEN: Principal = Object.freeze({ name: 'anonymous', anonymous: true, roles: Object.freeze([{ namespace: '*', permission: 'admin' as const }]) });

/** A caller holding the cluster secret. */
const PEER: Principal = Object.freeze({ name: 'peer', anonymous: false, roles: Object.freeze([{ namespace: '*', permission: 'admin' as const }]) });

export type Admission = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly authenticated: boolean; readonly message: string };

export class AccessControl {
  private readonly authenticator: Authenticator | undefined;
  private watch: FileWatch | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly options: AccessControlOptions,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    this.authenticator = options.authFile === undefined ? undefined : new Authenticator(clock, new AccessTokens(options.tokenKey, options.tokenTtlMs));
  }

  /** Auth off, no cluster secret: what tests and embedders that need no security use. */
  static open(clock: Clock, logger: Logger): AccessControl {
    return new AccessControl({ authFile: undefined, tokenKey: Buffer.alloc(32), tokenTtlMs: 1, reloadIntervalMs: 1_000, clusterSecret: undefined }, clock, logger);
  }

  /**
   * Loads the auth file (an error names the file and the entry) and starts watching it. Until it
   * has loaded, every credential is refused (auth on, no users): the server binds only afterwards.
   */
  async start(timers: Timers): Promise<void> {
    const path = this.options.authFile;
    if (path === undefined || this.authenticator === undefined) return;
    this.authenticator.setFile(parseAuthFile(await readText(path), path));
    const watch = new FileWatch({ paths: [path], intervalMs: this.options.reloadIntervalMs, timers, onChange: () => void this.reload() });
    await watch.start();
    this.watch = watch;
    this.logger.info({ authFile: path, users: this.authenticator.userNames().length }, 'authentication on');
  }

  get enabled(): boolean {
    return this.authenticator !== undefined;
  }

  /** Whether a cluster secret is configured. */
  get hasClusterSecret(): boolean {
    return this.options.clusterSecret !== undefined;
  }

  /** Re-reads the auth file; a file with errors is logged and the previous one kept. */
  async reload(): Promise<void> {
    const path = this.options.authFile;
    if (path === undefined || this.authenticator === undefined) return;
    try {
      this.authenticator.setFile(parseAuthFile(await readText(path), path));
      this.logger.info({ authFile: path, users: this.authenticator.userNames().length }, 'auth file reloaded');
    } catch (e) {
      this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'auth file not reloaded: it has errors (the previous one stays in force)');
      return;
    }
    for (const l of this.listeners) l();
  }

  /** Called after each successful reload (long-lived streams re-check their callers). */
  onReload(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Who the credentials name. Wrong credentials are refused, never taken as anonymous. */
  async authenticate(c: Credentials): Promise<AuthResult> {
    if (this.authenticator === undefined) return { ok: true, principal: OPEN };
    return this.authenticator.authenticate(c);
  }

  /** The decision: may `principal` do what needs `permission` on `namespace`? */
  decide(principal: Principal, permission: Permission, namespace: string): Decision {
    if (this.authenticator === undefined) return { allowed: true };
    return authorize(principal, permission, namespace);
  }

  /** Authenticates and decides in one step: what a transport asks before a call. */
  async admit(c: Credentials, permission: Permission, namespace: string): Promise<Admission> {
    const who = await this.authenticate(c);
    if (!who.ok) return { ok: false, authenticated: false, message: who.message };
    const d = this.decide(who.principal, permission, namespace);
    return d.allowed ? { ok: true, principal: who.principal } : { ok: false, authenticated: d.authenticated, message: d.message };
  }

  /** The actor of a write by `principal` on `namespace` for the registrant rule (none with auth off). */
  actor(principal: Principal, namespace: string): Actor | undefined {
    if (this.authenticator === undefined) return undefined;
    return { name: principal.name, admin: isAdminOf(principal, namespace) };
  }

  /** A Nacos-style login: an access token and its TTL for a user name and password. */
  async login(username: string, password: string): Promise<{ ok: true; token: string; ttlMs: number; principal: Principal } | { ok: false; message: string }> {
    if (this.authenticator === undefined) return { ok: false, message: 'authentication is off on this server' };
    return this.authenticator.login(username, password);
  }

  /**
   * A peer call (replication, anti-entropy, the Eureka peer batch endpoint): it must carry the
   * cluster secret when one is set; without one, with auth on, only an admin of every namespace may
   * make it (no herald node does: set a secret); with neither, anyone on the network may.
   */
  async admitPeer(givenSecret: string | undefined, c: Credentials): Promise<Admission> {
    if (this.options.clusterSecret !== undefined) {
      return this.peerSecretOk(givenSecret) ? { ok: true, principal: PEER } : { ok: false, authenticated: false, message: 'missing or wrong cluster secret' };
    }
    return this.admit(c, 'admin', '*');
  }

  /**
   * A cluster view (ClusterService): the cluster secret, or admin of every namespace. With auth off
   * and no secret, anyone.
   */
  async admitClusterView(givenSecret: string | undefined, c: Credentials): Promise<Admission> {
    if (givenSecret !== undefined && this.options.clusterSecret !== undefined && this.peerSecretOk(givenSecret)) return { ok: true, principal: PEER };
    if (!this.enabled) {
      if (this.options.clusterSecret === undefined) return { ok: true, principal: OPEN };
      return { ok: false, authenticated: false, message: 'missing or wrong cluster secret' };
    }
    return this.admit(c, 'admin', '*');
  }

  /**
   * A metrics scrape (`/metrics`): the figures cover every namespace, so it needs read on every
   * namespace (a monitoring service account with a static token, or Basic credentials); with auth
   * off, or when the operator opened metrics to every caller (`open`, `--metrics-auth off`), anyone.
   */
  async admitMetrics(c: Credentials, open: boolean): Promise<Admission> {
    if (open) return { ok: true, principal: OPEN };
    return this.admit(c, 'read', '*');
  }

  /** Whether a caller presenting `given` holds the cluster secret (true when none is set). */
  peerSecretOk(given: string | undefined): boolean {
    const secret = this.options.clusterSecret;
    if (secret === undefined) return true;
    return given !== undefined && sameSecret(given, secret);
  }

  close(): void {
    this.watch?.close();
    this.listeners.clear();
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read the auth file (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}
