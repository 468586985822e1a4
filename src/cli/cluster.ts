/** `herald cluster`: a node's view of its cluster (peers, their state, queues, failures). */
import { Command } from 'commander';
import type { ServiceError } from '@grpc/grpc-js';
import { ClusterServiceClient, PeerState, type GetClusterStatusResponse } from '../gen/herald/v1/peer_service.js';
import type { SecurityOptions } from '../client/connection-security.js';
import { clusterSecretOption, firstAnswer, operatorChannel, reason, securityOrExit, serverOption, withSecurityOptions, type SecurityFlags } from './client-options.js';

type OperatorFlags = SecurityFlags & { clusterSecret?: string };
import { table } from './format.js';

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
  return withSecurityOptions(new Command('cluster'))
    .description("show a node's peers: state, replication queue, last success, failures")
    .option('--json', 'print JSON instead of a table')
    .addOption(serverOption())
    .addOption(clusterSecretOption())
    .action(async (flags: OperatorFlags & { json?: boolean; server: string[] }, cmd: Command) => {
      // The first node that answers shows its view (its node id says which one it is).
      let s: GetClusterStatusResponse;
      const security = securityOrExit(flags, cmd);
      try {
        s = (await firstAnswer(flags.server, (a) => status(a, security, flags.clusterSecret))).value;
      } catch (e) {
        cmd.error(`herald: ${reason(e)}`, { exitCode: 1 });
      }
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      process.stdout.write(`node ${s.nodeId}  ${s.synced ? 'synced' : 'syncing'}  ${s.peers.length} peer(s)\n`);
      if (s.peers.length === 0) return;
      process.stdout.write(
        table(
          ['PEER', 'NODE', 'STATE', 'QUEUE', 'LAST SUCCESS', 'FAILURES', 'REPLICATED', 'DROPPED', 'LAST ERROR'],
          s.peers.map((p) => [
            p.address,
            p.nodeId === '' ? '-' : p.nodeId,
            STATE[p.state],
            String(p.queueDepth),
            p.lastSuccessAt === 0 ? 'never' : new Date(p.lastSuccessAt).toISOString(),
            String(p.failures),
            String(p.replicatedTasks),
            String(p.droppedTasks),
            p.lastError,
          ]),
        ),
      );
    });
}
