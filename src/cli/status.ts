/**
 * `herald status`: one node's registry, self-preservation and last eviction run; `herald status
 * set|clear`: an instance's overridden status (SetStatus, DeleteStatusOverride), as Eureka's
 * `PUT|DELETE /apps/{app}/{id}/status` and the console do.
 */
import { Command } from 'commander';
import { instanceFromWire } from '../client/codec.js';
import { DeleteStatusOverrideRequest, SetStatusRequest } from '../gen/herald/v1/registry_service.js';
import { InstanceStatus as WireStatus } from '../gen/herald/v1/model.js';
import { INSTANCE_STATUSES, type InstanceStatus } from '../core/model.js';
import { groupOption, namespaceOption } from './client-options.js';
import { exitCodeOf, EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { endpoint } from './format.js';
import { printRead, type ReadFlags } from './get.js';
import { json, outputOf, withOutputOptions } from './output.js';
import { serviceOption, serviceThen } from './service-name.js';
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

/** The wire value of a status name. */
function wireStatus(status: InstanceStatus): WireStatus {
  const value = WireStatus[`INSTANCE_STATUS_${status}` as keyof typeof WireStatus];
  return value;
}

/** What set and clear print: the instance after the change. */
function changed(r: { instance?: Parameters<typeof instanceFromWire>[0] | undefined }, flags: ReadFlags, what: string): { text: string } {
  const i = r.instance === undefined ? undefined : instanceFromWire(r.instance);
  if (outputOf(flags) === 'json') return { text: json(i) };
  if (i === undefined) return { text: `${what}\n` };
  return {
    text: `${i.instanceId} (${endpoint(i.ip, i.port)}): ${what}; status now ${i.status}${i.overriddenStatus === undefined ? '' : ` (overridden: ${i.overriddenStatus})`}\n`,
  };
}

function setCommand(): Command {
  return withOutputOptions(withSecurityOptions(new Command('set')), 'output format of the changed instance')
    .description("override an instance's status (e.g. OUT_OF_SERVICE to take it out of rotation); it holds over what the instance reports until cleared")
    .argument('[service]', 'the service (or --service)')
    .argument('[instance-id]', 'the instance')
    .argument('[status]', `the status to hold: ${INSTANCE_STATUSES.join(', ')}`)
    .addOption(serviceOption())
    .addOption(namespaceOption())
    .addOption(groupOption())
    .addOption(serverOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (a: string | undefined, b: string | undefined, c: string | undefined, flags: ReadFlags, cmd: Command) => {
      const {
        service,
        values: [instanceId = '', status = ''],
      } = serviceThen([a, b, c], flags.service, ['instance-id', 'status'], cmd);
      const upper = status.toUpperCase();
      if (!(INSTANCE_STATUSES as readonly string[]).includes(upper))
        cmd.error(`herald: status must be one of ${INSTANCE_STATUSES.join(', ')}, not ${status}`, { exitCode: EXIT.usage });
      await printRead(flags, cmd, async (t) =>
        changed(
          await t.setStatus(
            SetStatusRequest.fromPartial({ namespace: flags.namespace ?? '', group: flags.group ?? '', service, instanceId, status: wireStatus(upper as InstanceStatus) }),
          ),
          flags,
          `overridden status set to ${upper}`,
        ),
      );
    });
}

function clearCommand(): Command {
  return withOutputOptions(withSecurityOptions(new Command('clear')), 'output format of the changed instance')
    .description("remove an instance's overridden status: it takes the status it last registered with again")
    .argument('[service]', 'the service (or --service)')
    .argument('[instance-id]', 'the instance')
    .addOption(serviceOption())
    .addOption(namespaceOption())
    .addOption(groupOption())
    .addOption(serverOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (a: string | undefined, b: string | undefined, flags: ReadFlags, cmd: Command) => {
      const {
        service,
        values: [instanceId = ''],
      } = serviceThen([a, b], flags.service, ['instance-id'], cmd);
      await printRead(flags, cmd, async (t) =>
        changed(
          await t.deleteStatusOverride(DeleteStatusOverrideRequest.fromPartial({ namespace: flags.namespace ?? '', group: flags.group ?? '', service, instanceId })),
          flags,
          'overridden status cleared',
        ),
      );
    });
}

export function statusCommand(): Command {
  return (
    withOutputOptions(withSecurityOptions(new Command('status')))
      .description(
        "show a node's registry: size, self-preservation (renewals expected and received) and the last eviction run; `status set` and `status clear` change an instance's overridden status",
      )
      .addOption(serverOption())
      .addOption(clusterSecretOption())
      .addHelpText('after', EXIT_CODES_HELP)
      // `status set … --server x`: the subcommand's flags are its own, not the node-status ones.
      .enablePositionalOptions()
      .action(async (flags: OperatorFlags & { json?: boolean; output?: 'table' | 'json' | 'wide'; server: string[] }, cmd: Command) => {
        let s: GetNodeStatusResponse;
        const security = securityOrExit(flags, cmd);
        try {
          s = (await firstAnswer(flags.server, (a) => nodeStatus(a, security, flags.clusterSecret))).value;
        } catch (e) {
          cmd.error(`herald: ${reason(e)}`, { exitCode: exitCodeOf(e) });
        }
        process.stdout.write(outputOf(flags) === 'json' ? json(s) : formatNodeStatus(s));
      })
      .addCommand(setCommand())
      .addCommand(clearCommand())
  );
}
