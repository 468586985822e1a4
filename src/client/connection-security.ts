/**
 * How a client reaches a server that has TLS or authentication on: the channel's credentials (TLS
 * verified with a CA bundle or the system's roots, a client certificate for mutual TLS) and an
 * interceptor that puts credentials on every call (`authorization: Bearer <token>`). A user name
 * and password are exchanged for an access token (herald.v1.AuthService/Login) that is refreshed
 * before it expires, once for all calls at a time. A refusal (UNAUTHENTICATED, PERMISSION_DENIED)
 * is a permanent error: call-errors.ts never retries it.
 */
import { readFileSync } from 'node:fs';
import { credentials, InterceptingCall, Metadata, status as GrpcStatus, type ChannelCredentials, type Interceptor, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { AuthServiceClient, type LoginResponse } from '../gen/herald/v1/auth_service.js';

export interface TlsOptions {
  /** PEM CA bundle that signed the server's certificate (contents, or a file path). Default: the system's roots. */
  readonly ca?: Buffer | string;
  /** PEM client certificate, for a server that requires one (mutual TLS). */
  readonly cert?: Buffer | string;
  /** PEM private key of `cert`. */
  readonly key?: Buffer | string;
}

export interface SecurityOptions {
  /** TLS to the server: `true` verifies it with the system's roots; an object gives a CA and a client certificate. */
  readonly tls?: boolean | TlsOptions;
  /** A token sent as `Bearer` on every call (a static token from the auth file, or an access token). */
  readonly token?: string;
  /** With `password`: log in for an access token, refreshed before it expires. */
  readonly username?: string;
  readonly password?: string;
}

/** PEM contents: a Buffer, a PEM string, or a path to read. */
function pem(v: Buffer | string | undefined, what: string): Buffer | undefined {
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v;
  if (v.includes('-----BEGIN')) return Buffer.from(v, 'utf8');
  try {
    return readFileSync(v);
  } catch (e) {
    throw new Error(`cannot read the TLS ${what} ${v}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/**
 * `security` with every PEM read (paths become contents) and its pairs checked: what a client
 * resolves once when it is created, so a missing or unreadable file is an error there and then,
 * not a failure retried on every connection attempt.
 */
export function resolveSecurity(security: SecurityOptions | undefined): SecurityOptions | undefined {
  if (security === undefined) return undefined;
  if ((security.username === undefined) !== (security.password === undefined)) throw new Error('security: a user name needs its password (and the password its user name)');
  const tls = security.tls;
  if (tls === undefined || typeof tls === 'boolean') return security;
  const ca = pem(tls.ca, 'CA bundle');
  const cert = pem(tls.cert, 'client certificate');
  const key = pem(tls.key, 'client key');
  if ((cert === undefined) !== (key === undefined)) throw new Error('security.tls: a client certificate needs its key (and the key its certificate)');
  return { ...security, tls: { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) } };
}

/** The channel credentials `security` asks for: TLS, or plain text. */
export function channelCredentialsOf(security: SecurityOptions | undefined): ChannelCredentials {
  const tls = security?.tls;
  if (tls === undefined || tls === false) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  const cert = pem(tls.cert, 'client certificate');
  const key = pem(tls.key, 'client key');
  if ((cert === undefined) !== (key === undefined)) throw new Error('a TLS client certificate needs its key (and the key its certificate)');
  return credentials.createSsl(pem(tls.ca, 'CA bundle') ?? null, key ?? null, cert ?? null);
}

/** The gRPC status of a failed login (its own code), UNAUTHENTICATED when it has none. */
function statusCodeOf(e: unknown): GrpcStatus {
  const code = (e as { code?: unknown }).code;
  return Object.values(GrpcStatus).find((v): v is GrpcStatus => v === code) ?? GrpcStatus.UNAUTHENTICATED;
}

/** Refresh an access token when less than this share of its life is left. */
const REFRESH_AT = 0.2;

/** Where a client's `authorization` value comes from: a fixed token, or logins. */
export class CallCredentials {
  private current: { value: string; refreshAt: number; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private login: AuthServiceClient | undefined;

  constructor(
    private readonly security: SecurityOptions,
    private readonly address: string,
    private readonly channel: ChannelCredentials,
    private readonly deadlineMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if ((security.username === undefined) !== (security.password === undefined)) throw new Error('a user name needs its password (and the password its user name)');
  }

  /** Whether calls carry credentials at all. */
  static needed(security: SecurityOptions | undefined): boolean {
    return security?.token !== undefined || security?.username !== undefined;
  }

  /** The `authorization` value for the next call (logging in first when needed). */
  value(): Promise<string> {
    const { token, username, password } = this.security;
    if (token !== undefined) return Promise.resolve(`Bearer ${token}`);
    if (username === undefined || password === undefined) return Promise.resolve('');
    const c = this.current;
    const now = this.now();
    if (c !== undefined && now < c.refreshAt) return Promise.resolve(c.value);
    this.pending ??= this.loginNow(username, password).finally(() => {
      this.pending = undefined;
    });
    // While a refresh runs, calls go on with the token while it is still valid; once it has
    // expired (the client was idle past its TTL), they wait for the new one.
    return c !== undefined && now < c.expiresAt ? Promise.resolve(c.value) : this.pending;
  }

  /**
   * Forgets the access token the server refused (`value`, or whichever is current): the next call
   * logs in again. A token from a newer login than the refused one is kept.
   */
  invalidate(value?: string): void {
    if (this.security.token !== undefined) return;
    if (value === undefined || this.current?.value === value) this.current = undefined;
  }

  /** Whether a refused call may be sent again after a new login: calls made with an access token. */
  private get canLogInAgain(): boolean {
    return this.security.token === undefined && this.security.username !== undefined;
  }

  private loginNow(username: string, password: string): Promise<string> {
    this.login ??= new AuthServiceClient(this.address, this.channel);
    const client = this.login;
    const started = this.now();
    return new Promise((resolve, reject) => {
      client.login({ username, password }, new Metadata(), { deadline: started + this.deadlineMs }, (e: ServiceError | null, r: LoginResponse) => {
        if (e) {
          reject(Object.assign(new Error(`login as ${username} failed: ${e.details}`), { code: e.code, details: `login as ${username} failed: ${e.details}` }));
          return;
        }
        const value = `Bearer ${r.accessToken}`;
        // Measured from before the call: the server's expiry is later than ours.
        this.current = { value, refreshAt: started + r.tokenTtlMs * (1 - REFRESH_AT), expiresAt: started + r.tokenTtlMs };
        resolve(value);
      });
    });
  }

  /**
   * A grpc-js interceptor that sends the credentials on every call. A unary call refused with
   * UNAUTHENTICATED while it carried an access token from a login (the server restarted with a new
   * token key, another node does not share it, the token expired on the way) is sent once more
   * with a token from a new login: the refusal was of the token, not of the user, and only the
   * login can say the user is refused. (A refused Subscribe ends, and is opened again like any
   * broken stream, with a new login.)
   */
  interceptor(): Interceptor {
    return (options, nextCall) => {
      const unary = !options.method_definition.requestStream && !options.method_definition.responseStream;
      let sent: unknown[] = [];
      let halfClosed = false;
      let retry: ReturnType<typeof nextCall> | undefined;
      const call: InterceptingCall = new InterceptingCall(nextCall(options), {
        start: (metadata, listener, next) => {
          const original = metadata.clone();
          this.value().then(
            (value) => {
              if (value !== '') metadata.set('authorization', value);
              // A Listener (not the intercepting one) chains to the caller's listener.
              next(metadata, {
                onReceiveStatus: (status, nextStatus) => {
                  if (status.code !== GrpcStatus.UNAUTHENTICATED) {
                    nextStatus(status);
                    return;
                  }
                  this.invalidate(value);
                  if (!unary || !this.canLogInAgain) {
                    nextStatus(status);
                    return;
                  }
                  // The caller's listener gets the second call's answer (its first one had no message).
                  this.value().then(
                    (again) => {
                      const md = original.clone();
                      md.set('authorization', again);
                      retry = nextCall(options);
                      retry.start(md, {
                        onReceiveMetadata: (m: Metadata) => {
                          listener.onReceiveMetadata(m);
                        },
                        onReceiveMessage: (m: unknown) => {
                          listener.onReceiveMessage(m);
                        },
                        onReceiveStatus: (s: StatusObject) => {
                          if (s.code === GrpcStatus.UNAUTHENTICATED) this.invalidate(again);
                          listener.onReceiveStatus(s);
                        },
                      });
                      for (const m of sent) retry.sendMessage(m);
                      sent = [];
                      if (halfClosed) retry.halfClose();
                    },
                    (e: unknown) => {
                      nextStatus({ ...status, code: statusCodeOf(e), details: e instanceof Error ? e.message : String(e) });
                    },
                  );
                },
              });
            },
            (e: unknown) => {
              // No credentials to send: end the call with why, before it leaves.
              next(metadata, listener);
              call.cancelWithStatus(statusCodeOf(e), e instanceof Error ? e.message : String(e));
            },
          );
        },
        sendMessage: (message, next) => {
          // Kept for a second attempt of a unary call (one message).
          if (unary) sent.push(message);
          next(message);
        },
        halfClose: (next) => {
          halfClosed = true;
          next();
        },
        cancel: (next) => {
          retry?.cancelWithStatus(GrpcStatus.CANCELLED, 'Cancelled on client');
          next();
        },
      });
      return call;
    };
  }

  close(): void {
    this.login?.close();
    this.login = undefined;
  }
}
