/** `herald cluster`: a node's view of its cluster (peers, their state, queues, failures). */
import { Command } from 'commander';
import type { ServiceError } from '@grpc/grpc-js';
import { ClusterServiceClient, PeerState, type GetClusterStatusResponse } from '../gen/herald/v1/peer_service.js';
import type { SecurityOptions } from '../client/connection-security.js';
import { clusterSecretOption, firstAnswer, operatorChannel, reason, securityOrExit, serverOption, withSecurityOptions, type SecurityFlags } from './client-options.js';

import { exitCodeOf, EXIT_CODES_HELP } from './exit-codes.js';
import { table } from './format.js';
import { json, outputOf, withOutputOptions, type OutputFormat } from './output.js';

type OperatorFlags = SecurityFlags & { clusterSecret?: string };

const STATE: Record<PeerState, string> = {
  [PeerState.PEER_STATE_UNSPECIFIED]: 'unknown',
  [PeerState.PEER_STATE_UP]: 'up',
  [PeerState.PEER_STATE_DOWN]: 'down',
};

function status(address: string, security: SecurityOptions | undefined, clusterSecret: string | undefined): Promise<GetClusterStatusResponse> {
  const op = operatorChannel(address, security, clusterSecret);
  const client = new ClusterServiceClient(address, op.channel, { interceptors: op.interceptors });
  return new Promise((resolve, reject) => {
    client.getClusterStatus({}, op.metadata(), { deadline: Date.now() + 5_000 }, (e: ServiceError | null, r: GetClusterStatusResponse) => {
      client.close();
      op.close();
      if (e) reject(e);
      else resolve(r);
    });
  });
}

export function clusterCommand(): Command {
  return withOutputOptions(withSecurityOptions(new Command('cluster')))
    .description("show a node's peers: state (up, down; unknown until first tried), replication queue, last success, failures")
    .addOption(serverOption())
    .addOption(clusterSecretOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (flags: OperatorFlags & { json?: boolean; output?: OutputFormat; server: string[] }, cmd: Command) => {
      // The first node that answers shows its view (its node id says which one it is).
      let s: GetClusterStatusResponse;
      const security = securityOrExit(flags, cmd);
      try {
        s = (await firstAnswer(flags.server, (a) => status(a, security, flags.clusterSecret))).value;
      } catch (e) {
        cmd.error(`herald: ${reason(e)}`, { exitCode: exitCodeOf(e) });
      }
      const output = outputOf(flags);
      if (output === 'json') {
        process.stdout.write(json(s));
        return;
      }
      process.stdout.write(`node ${s.nodeId}  ${s.synced ? 'synced' : 'syncing'}  ${s.peers.length} peer(s)\n`);
      if (s.peers.length === 0) return;
      process.stdout.write(
        table(
          ['PEER', 'NODE', 'STATE', 'QUEUE', 'LAST SUCCESS', 'FAILURES', ...(output === 'wide' ? ['REPLICATED', 'DROPPED'] : []), 'LAST ERROR'],
          s.peers.map((p) => [
            p.address,
            p.nodeId === '' ? '-' : p.nodeId,
            STATE[p.state],
            String(p.queueDepth),
            p.lastSuccessAt === 0 ? 'never' : new Date(p.lastSuccessAt).toISOString(),
            String(p.failures),
            ...(output === 'wide' ? [String(p.replicatedTasks), String(p.droppedTasks)] : []),
            p.lastError,
          ]),
        ),
      );
    });
}
