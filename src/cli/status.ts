/** `herald status`: one node's registry, self-preservation and last eviction run. */
import { Command } from 'commander';
import type { ServiceError } from '@grpc/grpc-js';
import { ClusterServiceClient, EvictionOutcome, type GetNodeStatusResponse } from '../gen/herald/v1/peer_service.js';
import type { SecurityOptions } from '../client/connection-security.js';
import { clusterSecretOption, firstAnswer, operatorChannel, reason, securityOrExit, serverOption, withSecurityOptions, type SecurityFlags } from './client-options.js';

type OperatorFlags = SecurityFlags & { clusterSecret?: string };

const OUTCOME: Record<EvictionOutcome, string> = {
  [EvictionOutcome.EVICTION_OUTCOME_UNSPECIFIED]: 'not run yet',
  [EvictionOutcome.EVICTION_OUTCOME_EVICTED]: 'evicted',
  [EvictionOutcome.EVICTION_OUTCOME_NOTHING_EXPIRED]: 'nothing expired',
  [EvictionOutcome.EVICTION_OUTCOME_SELF_PRESERVATION]: 'self-preservation',
  [EvictionOutcome.EVICTION_OUTCOME_CAPPED]: 'capped',
};

function nodeStatus(address: string, security: SecurityOptions | undefined, clusterSecret: string | undefined): Promise<GetNodeStatusResponse> {
  const op = operatorChannel(address, security, clusterSecret);
  const client = new ClusterServiceClient(address, op.channel, { interceptors: op.interceptors });
  return new Promise((resolve, reject) => {
    client.getNodeStatus({}, op.metadata(), { deadline: Date.now() + 5_000 }, (e: ServiceError | null, r: GetNodeStatusResponse) => {
      client.close();
      op.close();
      if (e) reject(e);
      else resolve(r);
    });
  });
}

function time(ms: number): string {
  return ms === 0 ? 'never' : new Date(ms).toISOString();
}

/** The status as text, one fact per line. */
export function formatNodeStatus(s: GetNodeStatusResponse): string {
  const sp = s.selfPreservation;
  const e = s.lastEviction;
  const lines = [`node ${s.nodeId === '' ? '-' : s.nodeId}  ${s.instances} instances in ${s.services} services (${s.namespaces} namespaces)  ${s.subscribers} subscribers`];
  if (sp !== undefined) {
    const state = !sp.enabled ? 'off' : sp.active ? 'ACTIVE: eviction suspended' : 'inactive';
    lines.push(
      `self-preservation: ${state}`,
      `  renewals in the last minute: ${sp.renewsLastMinute} (threshold ${sp.renewsThreshold} = expected ${Math.round(sp.expectedRenewsPerMinute * 100) / 100}/min × ${sp.renewalPercentThreshold})`,
      `  lease-bound instances: ${sp.leaseBoundInstances} (engages from ${sp.minInstances})`,
    );
  }
  lines.push(
    `last eviction run: ${e === undefined || e.at === 0 ? 'not run yet' : `${time(e.at)}  ${OUTCOME[e.outcome]}: ${e.reason}`}`,
    `  every ${s.evictionIntervalMs} ms; ${s.evictedTotal} evicted since start`,
    `tombstones: ${s.tombstones}${s.tombstonesDropped > 0 ? ` (${s.tombstonesDropped} dropped early: the store was full)` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

export function statusCommand(): Command {
  return withSecurityOptions(new Command('status'))
    .description("show a node's registry: size, self-preservation (renewals expected and received) and the last eviction run")
    .option('--json', 'print JSON instead of text')
    .addOption(serverOption())
    .addOption(clusterSecretOption())
    .action(async (flags: OperatorFlags & { json?: boolean; server: string[] }, cmd: Command) => {
      let s: GetNodeStatusResponse;
      const security = securityOrExit(flags, cmd);
      try {
        s = (await firstAnswer(flags.server, (a) => nodeStatus(a, security, flags.clusterSecret))).value;
      } catch (e) {
        cmd.error(`herald: ${reason(e)}`, { exitCode: 1 });
      }
      process.stdout.write(flags.json === true ? `${JSON.stringify(s, null, 2)}\n` : formatNodeStatus(s));
    });
}
