/**
 * The client a unary benchmark drives the server with, on its own connection:
 *
 * - `transport`: the project's RegistryTransport (grpc-js, ts-proto encode and decode), i.e. what
 *   an application pays per call, with unary Renew;
 * - `stream`: the same, renewing over its connection's KeepAlive stream (what the SDK does);
 * - `light`: LightGrpcConnection (node:http2, requests encoded by the generated code, responses
 *   left as bytes), so the load generator leaves more of a 2-core machine to the server.
 */
import type { SecurityOptions } from '../../src/client/connection-security.js';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { RegistryServiceService, type GetServiceRequest, type RegisterRequest, type RenewRequest } from '../../src/gen/herald/v1/registry_service.js';
import { LightGrpcConnection } from './light-grpc-connection.js';

export type ClientKind = 'transport' | 'stream' | 'light';

export const CLIENT_KINDS: readonly ClientKind[] = ['light', 'transport', 'stream'];

/**
 * A RegistryTransport on its own TCP connection. grpc-js shares one connection between channels
 * with equal target and options; a local subchannel pool per channel gives each its own. `security`
 * (TLS, a token) is set as an application sets it.
 */
export function separateTransport(address: string, deadlineMs = 30_000, security?: SecurityOptions): RegistryTransport {
  return new RegistryTransport(address, { deadlineMs, channelOptions: { 'grpc.use_local_subchannel_pool': 1 }, ...(security === undefined ? {} : { security }) });
}

export interface BenchClient {
  register(req: RegisterRequest): Promise<void>;
  renew(req: RenewRequest): Promise<void>;
  /** Resolves with the number of hosts (transport) or the response size in bytes (light). */
  getService(req: GetServiceRequest): Promise<number>;
  close(): void;
}

/** A client of `kind`; `security` (TLS, a token) only for `transport`: the light client speaks plain text without credentials. */
export function openBenchClient(kind: ClientKind, address: string, security?: SecurityOptions): BenchClient {
  if (kind === 'transport' || kind === 'stream') {
    const t = separateTransport(address, undefined, security);
    return {
      register: async (req) => {
        await t.register(req);
      },
      renew:
        kind === 'stream'
          ? async (req) => {
              await t.keepAlive(req);
            }
          : async (req) => {
              await t.renew(req);
            },
      getService: async (req) => (await t.getService(req)).serviceInfo?.hosts.length ?? 0,
      close: () => {
        t.close();
      },
    };
  }
  if (security !== undefined) throw new Error('the light client has no TLS or credentials: use transport');
  const c = new LightGrpcConnection(address);
  const s = RegistryServiceService;
  return {
    register: async (req) => {
      await c.unary(s.register.path, s.register.requestSerialize(req));
    },
    renew: async (req) => {
      await c.unary(s.renew.path, s.renew.requestSerialize(req));
    },
    getService: async (req) => (await c.unary(s.getService.path, s.getService.requestSerialize(req))).length,
    close: () => {
      c.close();
    },
  };
}

/** `count` clients of one kind, each on its own connection, handed out round-robin by operation index. */
export class ClientPool {
  readonly clients: readonly BenchClient[];

  constructor(kind: ClientKind, address: string, count: number, security?: SecurityOptions) {
    this.clients = Array.from({ length: count }, () => openBenchClient(kind, address, security));
  }

  /** The client for operation `i`. */
  on(i: number): BenchClient {
    const c = this.clients[i % this.clients.length];
    if (c === undefined) throw new Error('no connection');
    return c;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
