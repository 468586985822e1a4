/**
 * `herald watch`: prints every push of one service the moment it arrives, with what changed (like
 * `etcdctl watch`), through the SDK's watch$; says when the server is lost and found again.
 */
import { Command, Option } from 'commander';
import { skip } from 'rxjs';
import { createLogger } from '../common/logger.js';
import { createRegistryClient, healthyInstances, type HostDiff, type ServiceInstance, type ServiceSnapshot } from '../client/index.js';
import { diffHosts, isEmptyDiff } from '../client/diff.js';
import { groupOption, namespaceOption, type SecurityFlags, securityOrExit, serverOption, untilSignal, withSecurityOptions } from './client-options.js';
import { endpoint, metadataText } from './format.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { list } from './parse.js';
import { requiredService, serviceOption } from './service-name.js';

interface WatchFlags extends SecurityFlags {
  service?: string;
  namespace?: string;
  group?: string;
  cluster?: string[];
  healthyOnly?: boolean;
  json?: boolean;
  output?: 'text' | 'json';
  server: string[];
}

function hostLine(sign: string, h: ServiceInstance): string {
  const status = h.overriddenStatus === undefined ? h.status : `${h.status}(override)`;
  const flags = [h.healthy ? '' : 'unhealthy', h.enabled ? '' : 'disabled'].filter((f) => f !== '').join(',');
  const meta = metadataText(h.metadata);
  return `  ${sign} ${h.instanceId}  ${endpoint(h.ip, h.port)}  ${status}${flags === '' ? '' : ` ${flags}`}  weight ${h.weight}  ${h.cluster}${meta === '' ? '' : `  ${meta}`}`;
}

function render(snap: ServiceSnapshot, hosts: readonly ServiceInstance[], diff: HostDiff, first: boolean): string {
  const time = new Date().toISOString().slice(11, 23);
  const counts = first ? 'initial' : `+${diff.added.length} ~${diff.modified.length} -${diff.removed.length}`;
  const protection = snap.reachProtectionThreshold ? '  PROTECTION THRESHOLD REACHED' : '';
  const head = `${time}  ${snap.group}@@${snap.name}  revision ${snap.revision}  ${hosts.length} hosts  ${counts}${protection}`;
  const lines = [...diff.added.map((h) => hostLine('+', h)), ...diff.modified.map((h) => hostLine('~', h)), ...diff.removed.map((h) => hostLine('-', h))];
  return [head, ...lines].join('\n') + '\n';
}

export function watchCommand(): Command {
  return withSecurityOptions(new Command('watch'))
    .description('print every push of a service as it arrives, with what changed')
    .argument('[service]', 'the service (or --service)')
    .addOption(serviceOption())
    .addOption(namespaceOption())
    .addOption(groupOption())
    .option('--cluster <cluster>', 'only these clusters (repeat or comma-separate)', list)
    .option('--healthy-only', 'only usable instances (healthy, enabled, UP)')
    .option('--json', 'print each push as a JSON line (same as -o json)')
    .addOption(new Option('-o, --output <format>', 'text, or json (a JSON line per push)').choices(['text', 'json']).default('text'))
    .addOption(serverOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (argument: string | undefined, flags: WatchFlags, cmd: Command) => {
      const service = requiredService(argument, flags.service, cmd);
      const security = securityOrExit(flags, cmd);
      const client = createRegistryClient({
        ...(security === undefined ? {} : { security }),
        servers: flags.server,
        ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
        // Empty lists are news to someone watching: show them.
        emptyPushProtection: false,
        resubscribeBackoffMaxMs: 5_000,
        logger: createLogger('silent'),
      });
      // Unreachable servers are retried for as long as it takes; say so plainly, once per change.
      const connection = client.connection$.pipe(skip(1)).subscribe((c) => {
        if (!c.reachable) process.stderr.write(`herald: ${c.lastError ?? `cannot reach ${c.server}`}; retrying\n`);
        else if (c.lastError !== undefined) process.stderr.write(`herald: ${c.lastError}; trying ${c.server}\n`);
        else process.stderr.write(`connected to ${c.server}\n`);
      });
      let previous: readonly ServiceInstance[] | undefined;
      const sub = client.watch$(service, { ...(flags.group === undefined ? {} : { group: flags.group }), clusters: flags.cluster ?? [] }).subscribe((event) => {
        const hosts = flags.healthyOnly === true ? healthyInstances(event.snapshot).instances : event.snapshot.hosts;
        const first = previous === undefined;
        const diff = diffHosts(previous ?? [], hosts);
        previous = hosts;
        if (!first && isEmptyDiff(diff)) return;
        if (flags.json === true || flags.output === 'json') {
          const ids = (hs: readonly ServiceInstance[]) => hs.map((h) => h.instanceId);
          process.stdout.write(
            `${JSON.stringify({ time: new Date().toISOString(), initial: first, added: ids(diff.added), modified: ids(diff.modified), removed: ids(diff.removed), snapshot: event.snapshot })}\n`,
          );
        } else {
          process.stdout.write(render(event.snapshot, hosts, diff, first));
        }
      });
      await untilSignal();
      sub.unsubscribe();
      connection.unsubscribe();
      await client.close();
      process.exitCode = 0;
    });
}
