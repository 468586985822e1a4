/**
 * The servers a client may talk to, tried in turn and sticky until failure: calls go to the current
 * server; a transient failure (UNAVAILABLE, DEADLINE_EXCEEDED, or no gRPC status at all) moves the
 * client to the next server and the call is retried there, each server at most once per call.
 * Answers such as NOT_FOUND or INVALID_ARGUMENT come from a live server and are returned as is.
 *
 * `reconnected$` emits the server's address when contact succeeds after a failure (a server came
 * back, or the client moved to another): the client then re-registers what it owns (Nacos's redo).
 */
import { BehaviorSubject, catchError, defer, distinctUntilChanged, from, map, Observable, Subject, throwError } from 'rxjs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import type { RegistryTransport } from './registry-transport.js';

/** What the client needs of a transport (RegistryTransport; a double in tests). */
export type TransportLike = Pick<RegistryTransport, 'address' | 'register' | 'renew' | 'cancel' | 'getService' | 'subscribe' | 'close'>;

export type TransportFactory = (address: string) => TransportLike;

/** The client's contact with the servers. */
export interface ConnectionState {
  /** The server calls go to now. */
  readonly server: string;
  /** False once every server has failed in a row. */
  readonly reachable: boolean;
}

const TRANSIENT_CODES: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

/** Whether an error means the server could not be reached (so another one should be tried). */
export function isTransient(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return typeof code !== 'number' || TRANSIENT_CODES.has(code);
}

export class ServerList {
  private index = 0;
  private readonly transports = new Map<string, TransportLike>();
  private consecutiveFailures = 0;
  private lost = false;
  private closed = false;
  private readonly reconnectedSubject = new Subject<string>();
  readonly reconnected$: Observable<string> = this.reconnectedSubject.asObservable();
  private readonly connectionSubject: BehaviorSubject<ConnectionState>;
  /** Whether a server answers, and which one is current; current value first, then changes. */
  readonly connection$: Observable<ConnectionState>;

  constructor(
    readonly addresses: readonly string[],
    private readonly factory: TransportFactory,
    private readonly logger: Logger,
  ) {
    if (addresses.length === 0) throw new RangeError('at least one server address is required');
    this.connectionSubject = new BehaviorSubject<ConnectionState>({ server: this.current, reachable: true });
    this.connection$ = this.connectionSubject.pipe(distinctUntilChanged((a, b) => a.server === b.server && a.reachable === b.reachable));
  }

  private publish(): void {
    this.connectionSubject.next({ server: this.current, reachable: this.reachable });
  }

  /** The server calls go to now. */
  get current(): string {
    return this.addresses[this.index] as string;
  }

  /** False once every server has failed in a row; true again on the next success. */
  get reachable(): boolean {
    return this.consecutiveFailures < this.addresses.length;
  }

  transport(address: string = this.current): TransportLike {
    if (this.closed) throw new Error('the client is closed');
    let t = this.transports.get(address);
    if (t === undefined) {
      t = this.factory(address);
      this.transports.set(address, t);
    }
    return t;
  }

  /** Records contact with `address` (a response, or a push). */
  reportSuccess(address: string): void {
    this.consecutiveFailures = 0;
    if (this.lost) {
      this.lost = false;
      this.logger.info({ server: address }, 'reconnected');
      this.publish();
      this.reconnectedSubject.next(address);
    }
  }

  /** Records a transient failure of `address`; the client moves on from it if it was current. */
  reportFailure(address: string, error: unknown): void {
    this.consecutiveFailures++;
    this.lost = true;
    if (address === this.current && this.addresses.length > 1) {
      this.index = (this.index + 1) % this.addresses.length;
      this.logger.warn({ failed: address, next: this.current, error: String(error) }, 'server unreachable; moving to the next');
    }
    this.publish();
  }

  /**
   * Runs a unary call on the current server, moving on to the next on a transient failure until
   * every server was tried once. Emits the value and the server that answered.
   */
  call<T>(fn: (t: TransportLike) => Promise<T>): Observable<{ value: T; server: string }> {
    return defer(() => {
      const tried = new Set<string>();
      const attempt = (): Observable<{ value: T; server: string }> => {
        const address = this.current;
        tried.add(address);
        return from(fn(this.transport(address))).pipe(
          map((value) => {
            this.reportSuccess(address);
            return { value, server: address };
          }),
          catchError((e: unknown) => {
            if (!isTransient(e)) {
              this.reportSuccess(address);
              return throwError(() => e);
            }
            this.reportFailure(address, e);
            return tried.has(this.current) ? throwError(() => e) : attempt();
          }),
        );
      };
      return attempt();
    });
  }

  /** Closes every transport; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.reconnectedSubject.complete();
    this.connectionSubject.complete();
  }
}
