/** Options shared by the client commands (servers, namespace, TLS and credentials), and what they build from them. */
import { Metadata, type ChannelCredentials, type Interceptor } from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { CallCredentials, channelCredentialsOf, resolveSecurity, type SecurityOptions } from '../client/connection-security.js';
import { errorText, isUnavailable, ServerUnreachableError, unreachableReason, type Unreached } from '../client/call-errors.js';
import { addresses } from './parse.js';

export const DEFAULT_SERVER = '127.0.0.1:7070';

/** `--server`: one address, or several (comma-separated) tried in turn. */
export function serverOption(): Option {
  return new Option('--server <host:port,...>', 'herald server(s) to talk to, tried in turn').env('HERALD_SERVER').default([DEFAULT_SERVER], DEFAULT_SERVER).argParser(addresses);
}

export function namespaceOption(): Option {
  return new Option('--namespace <namespace>', 'namespace (default: public)').env('HERALD_NAMESPACE');
}

export function groupOption(): Option {
  return new Option('--group <group>', 'group (default: DEFAULT_GROUP)');
}

/** A short reason for a failed call: the server's message, or plainly why it was not reached. */
export function reason(e: unknown): string {
  return e instanceof ServerUnreachableError ? e.message : errorText(e);
}

/**
 * Runs a read against each server in turn until one is reached; an error answered by a reached
 * server is final (`<server>: <its message>`). When none could be reached, throws a
 * ServerUnreachableError: `cannot reach 127.0.0.1:7070 (connection refused)`.
 */
export async function firstAnswer<T>(servers: readonly string[], read: (server: string) => Promise<T>): Promise<{ server: string; value: T }> {
  const failures: Unreached[] = [];
  let last: unknown;
  for (const server of servers) {
    try {
      return { server, value: await read(server) };
    } catch (e) {
      if (!isUnavailable(e)) throw Object.assign(new Error(`${server}: ${reason(e)}`), { cause: e });
      failures.push({ server, reason: unreachableReason(e) });
      last = e;
    }
  }
  if (failures.length === 0) throw new Error('no server given');
  throw new ServerUnreachableError(failures, last);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** The TLS and credential flags every client command takes. */
export interface SecurityFlags {
  token?: string;
  user?: string;
  password?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}

/** Adds --token, --user, --password, --tls, --tls-ca, --tls-client-cert and --tls-client-key to `cmd`. */
export function withSecurityOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--token <token>', 'a token to send (a static token from the auth file, or an access token)').env('HERALD_TOKEN'))
    .addOption(new Option('--user <name>', 'log in as this user (with --password); the access token is refreshed before it expires').env('HERALD_USER'))
    .addOption(new Option('--password <password>', 'password of --user (prefer the env var: flags show in ps)').env('HERALD_PASSWORD'))
    .addOption(new Option('--tls', 'talk TLS to the server, verified with the system roots (or --tls-ca)').env('HERALD_TLS'))
    .addOption(new Option('--tls-ca <path>', 'PEM CA bundle that signed the server certificate (implies --tls)').env('HERALD_TLS_CA'))
    .addOption(new Option('--tls-client-cert <path>', 'PEM client certificate, for a server that requires one (mutual TLS)').env('HERALD_TLS_CLIENT_CERT'))
    .addOption(new Option('--tls-client-key <path>', 'PEM key of --tls-client-cert').env('HERALD_TLS_CLIENT_KEY'));
}

/** The SDK's security options from the flags; undefined when none are given. */
export function securityFrom(f: SecurityFlags): SecurityOptions | undefined {
  const tlsFiles = f.tlsCa !== undefined || f.tlsClientCert !== undefined || f.tlsClientKey !== undefined;
  const tls = tlsFiles
    ? {
        ...(f.tlsCa === undefined ? {} : { ca: f.tlsCa }),
        ...(f.tlsClientCert === undefined ? {} : { cert: f.tlsClientCert }),
        ...(f.tlsClientKey === undefined ? {} : { key: f.tlsClientKey }),
      }
    : f.tls === true;
  const out: SecurityOptions = {
    ...(tls === false ? {} : { tls }),
    ...(f.token === undefined ? {} : { token: f.token }),
    ...(f.user === undefined ? {} : { username: f.user }),
    ...(f.password === undefined ? {} : { password: f.password }),
  };
  return Object.keys(out).length === 0 ? undefined : resolveSecurity(out);
}

/** securityFrom, or the command ends with exit 2 naming the problem (a missing TLS file is a usage error, not worth retrying). */
export function securityOrExit(f: SecurityFlags, cmd: Command): SecurityOptions | undefined {
  try {
    return securityFrom(f);
  } catch (e) {
    cmd.error(`herald: ${e instanceof Error ? e.message : String(e)}`, { exitCode: 2 });
  }
}

/** A stub's channel credentials, interceptors and metadata for an operator call (ClusterService). */
export function operatorChannel(
  address: string,
  security: SecurityOptions | undefined,
  clusterSecret: string | undefined,
): { channel: ChannelCredentials; interceptors: Interceptor[]; metadata: () => Metadata; close: () => void } {
  const channel = channelCredentialsOf(security);
  const auth = security !== undefined && CallCredentials.needed(security) ? new CallCredentials(security, address, channel, 5_000) : undefined;
  return {
    channel,
    interceptors: auth === undefined ? [] : [auth.interceptor()],
    metadata: () => {
      const md = new Metadata();
      if (clusterSecret !== undefined) md.set('x-herald-cluster-secret', clusterSecret);
      return md;
    },
    close: () => auth?.close(),
  };
}

/** --cluster-secret for operator commands (a node with a secret answers ClusterService to it, or to an admin). */
export function clusterSecretOption(): Option {
  return new Option('--cluster-secret <secret>', "the cluster's secret (or log in as an admin instead)").env('HERALD_CLUSTER_SECRET');
}
