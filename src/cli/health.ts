/**
 * `herald health`: asks each server's standard gRPC health service (grpc.health.v1.Health/Check,
 * the one load balancers and Kubernetes' gRPC probes use) whether it is serving, and ends with an
 * exit code by state: 0 when every server is SERVING (alive and ready), 6 when one answers
 * NOT_SERVING (alive, not ready: its start-up sync runs, or it is stopping), 3 when one cannot be
 * reached. The health service answers without credentials, so no token is needed.
 */
import { Client, Metadata } from '@grpc/grpc-js';
import { Command } from 'commander';
import { service as healthService } from 'grpc-health-check';
import { unreachableReason } from '../client/call-errors.js';
import type { SecurityOptions } from '../client/connection-security.js';
import { operatorChannel, securityOrExit, serverOption, withSecurityOptions, type SecurityFlags } from './client-options.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { table } from './format.js';
import { json, outputOf, withOutputOptions, type OutputFormat } from './output.js';
import { integer } from './parse.js';

/** grpc.health.v1.Health/Check, as grpc-health-check's definition (proto-loader) encodes and decodes it. */
const CHECK = healthService.Check;

export interface ServerHealth {
  readonly server: string;
  /** SERVING, NOT_SERVING, UNKNOWN, or UNREACHABLE when there was no answer. */
  readonly status: string;
  readonly ready: boolean;
  /** Why the server could not be reached (UNREACHABLE only). */
  readonly reason?: string;
  /** Round trip of the check, ms (absent when unreachable). */
  readonly latencyMs?: number;
}

/** The serving status names of grpc.health.v1.HealthCheckResponse, by number. */
const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function check(server: string, security: SecurityOptions | undefined, timeoutMs: number): Promise<ServerHealth> {
  const op = operatorChannel(server, security, undefined);
  const client = new Client(server, op.channel, { interceptors: op.interceptors });
  const started = performance.now();
  return new Promise((resolve) => {
    if (CHECK === undefined) throw new Error('grpc-health-check has no Check method');
    const serialize = (value: { service: string }): Buffer => CHECK.requestSerialize(value);
    const deserialize = (bytes: Buffer): { status?: string | number } => CHECK.responseDeserialize(bytes);
    client.makeUnaryRequest(CHECK.path, serialize, deserialize, { service: '' }, new Metadata(), { deadline: Date.now() + timeoutMs }, (e, r) => {
      client.close();
      op.close();
      if (e !== null || r === undefined) {
        resolve({ server, status: 'UNREACHABLE', ready: false, reason: unreachableReason(e ?? new Error('empty answer')) });
        return;
      }
      const raw = r.status;
      const status = typeof raw === 'number' ? (STATUS_NAMES[raw] ?? String(raw)) : (raw ?? 'UNKNOWN');
      resolve({ server, status, ready: status === 'SERVING', latencyMs: Math.round((performance.now() - started) * 10) / 10 });
    });
  });
}

function meaning(h: ServerHealth): string {
  if (h.status === 'SERVING') return 'alive and ready';
  if (h.status === 'NOT_SERVING') return 'alive, not ready (start-up sync running, or stopping)';
  if (h.status === 'UNREACHABLE') return `not reached: ${h.reason ?? ''}`;
  return 'alive, state unknown';
}

export function render(all: readonly ServerHealth[], output: OutputFormat): string {
  if (output === 'json') return json(all);
  return table(
    ['SERVER', 'STATUS', 'MEANING', ...(output === 'wide' ? ['CHECK MS'] : [])],
    all.map((h) => [h.server, h.status, meaning(h), ...(output === 'wide' ? [h.latencyMs === undefined ? '-' : String(h.latencyMs)] : [])]),
  );
}

/** 0 when every server is ready, 3 when one was not reached, else 6. */
export function healthExitCode(all: readonly ServerHealth[]): number {
  if (all.some((h) => h.status === 'UNREACHABLE')) return EXIT.unreachable;
  return all.every((h) => h.ready) ? EXIT.ok : EXIT.notReady;
}

export function healthCommand(): Command {
  return withOutputOptions(withSecurityOptions(new Command('health')))
    .description('check whether each server is alive and ready (the gRPC health service); the exit code says the state')
    .addOption(serverOption())
    .option('--timeout-ms <ms>', 'how long to wait for each answer', integer(1, 600_000), 3_000)
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (flags: SecurityFlags & { server: string[]; timeoutMs: number; output?: OutputFormat; json?: boolean }, cmd: Command) => {
      const security = securityOrExit(flags, cmd);
      const all = await Promise.all(flags.server.map((s) => check(s, security, flags.timeoutMs)));
      process.stdout.write(render(all, outputOf(flags)));
      process.exitCode = healthExitCode(all);
    });
}
