/**
 * The servers a client may talk to, tried in turn and sticky until failure: calls go to the current
 * server; unavailability (see call-errors.ts: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, or no gRPC
 * status at all) moves the client to the next server and the call is retried there, each server at
 * most once per call; when every server tried was unavailable, the call fails with a
 * ServerUnreachableError that says so plainly. Answers such as NOT_FOUND or INVALID_ARGUMENT come
 * from a live server and are returned as is.
 *
 * `reconnected$` emits the server's address when contact succeeds after a failure (a server came
 * back, or the client moved to another): the client then re-registers what it owns (Nacos's redo).
 */
import { BehaviorSubject, catchError, defer, distinctUntilChanged, from, map, Observable, Subject, throwError } from 'rxjs';
import type { Logger } from '../common/logger.js';
import { isUnavailable, ServerUnreachableError, unreachableReason, unreachableText, type Unreached } from './call-errors.js';
import type { Transport, TransportFactory } from './transport.js';

/** The client's contact with the servers. */
export interface ConnectionState {
  /** The server calls go to now. */
  readonly server: string;
  /** False once every server has failed in a row. */
  readonly reachable: boolean;
  /**
   * After a failure (set when the client has just lost contact or moved on from a server): which
   * server failed and why, plainly, e.g. `cannot reach 127.0.0.1:7070 (connection refused)`.
   */
  readonly lastError?: string;
}

export class ServerList {
  private index = 0;
  private readonly transports = new Map<string, Transport>();
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

  private publish(lastError?: string): void {
    this.connectionSubject.next({ server: this.current, reachable: this.reachable, ...(lastError === undefined ? {} : { lastError }) });
  }

  /** The server calls go to now. */
  get current(): string {
    return this.addresses[this.index] as string;
  }

  /** False once every server has failed in a row; true again on the next success. */
  get reachable(): boolean {
    return this.consecutiveFailures < this.addresses.length;
  }

  transport(address: string = this.current): Transport {
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
    const text = unreachableText([{ server: address, reason: unreachableReason(error) }]);
    if (address === this.current && this.addresses.length > 1) {
      this.index = (this.index + 1) % this.addresses.length;
      this.logger.warn({ failed: address, next: this.current, error: text }, 'server unreachable; moving to the next');
    }
    this.publish(text);
  }

  /**
   * Runs a unary call on the current server, moving on to the next on unavailability until every
   * server was tried once. Emits the value and the server that answered; fails with the server's
   * error if one answered with an error, else with a ServerUnreachableError naming each server tried.
   */
  call<T>(fn: (t: Transport) => Promise<T>): Observable<{ value: T; server: string }> {
    return defer(() => {
      const tried = new Set<string>();
      const unreached: Unreached[] = [];
      const attempt = (): Observable<{ value: T; server: string }> => {
        const address = this.current;
        tried.add(address);
        return from(fn(this.transport(address))).pipe(
          map((value) => {
            this.reportSuccess(address);
            return { value, server: address };
          }),
          catchError((e: unknown) => {
            if (!isUnavailable(e)) {
              this.reportSuccess(address);
              return throwError(() => e);
            }
            unreached.push({ server: address, reason: unreachableReason(e) });
            this.reportFailure(address, e);
            return tried.has(this.current) ? throwError(() => new ServerUnreachableError([...unreached], e)) : attempt();
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
