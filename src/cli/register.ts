/** `herald register`: registers one instance through the SDK, keeps it alive, cancels it on Ctrl-C. */
import { Command, Option } from 'commander';
import { filter, firstValueFrom } from 'rxjs';
import { INSTANCE_STATUSES, type InstanceStatus } from '../core/model.js';
import { createLogger } from '../common/logger.js';
import { createRegistryClient, type InstanceSpec, type RegistrationState } from '../client/index.js';
import { groupOption, namespaceOption, type SecurityFlags, securityOrExit, serverOption, untilSignal, withSecurityOptions } from './client-options.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { decimal, integer, metadataEntry, oneOf } from './parse.js';
import { requiredService, serviceOption } from './service-name.js';

interface RegisterFlags extends SecurityFlags {
  service?: string;
  ip: string;
  port: number;
  namespace?: string;
  group?: string;
  cluster?: string;
  weight?: number;
  metadata?: Record<string, string>;
  instanceId?: string;
  status?: InstanceStatus;
  leaseDurationMs?: number;
  renewalIntervalMs?: number;
  persistent?: boolean;
  json?: boolean;
  server: string[];
}

function describeState(s: RegistrationState, spec: InstanceSpec): string {
  switch (s.kind) {
    case 'registering':
      return s.lastError === undefined ? `registering ${spec.service}` : `registering ${spec.service} (attempt ${s.attempt}; last error: ${s.lastError})`;
    case 'registered':
      return `registered ${s.instance.instanceId} (lease ${s.instance.leaseDurationMs} ms, renewing every ${s.instance.renewalIntervalMs} ms)`;
    case 'renew-failing':
      return `renewal failing (attempt ${s.attempt}: ${s.lastError}); retrying in ${s.retryInMs} ms`;
    case 'deregistered':
      return 'deregistered';
    case 'rejected':
      return `rejected by the server (${s.code}): ${s.reason}`;
  }
}

export function registerCommand(): Command {
  return withSecurityOptions(new Command('register'))
    .description('register an instance and keep its lease renewed until Ctrl-C, then cancel it; retries while the server is unreachable, exits 4 if it refuses the registration')
    .argument('[service]', 'the service (or --service)')
    .addOption(serviceOption())
    .requiredOption('--ip <address>', 'IP address or host name clients connect to')
    .requiredOption('--port <port>', 'port clients connect to', integer(1, 65_535))
    .addOption(namespaceOption())
    .addOption(groupOption())
    .option('--cluster <cluster>', 'cluster (default: DEFAULT)')
    .option('--weight <weight>', 'weight, 0 to 10000 (default: 1)', decimal(0, 10_000))
    .option('--metadata <key=value>', 'metadata entry; repeat for more', metadataEntry)
    .option('--instance-id <id>', 'instance id (default: derived by the server)')
    .addOption(new Option('--status <status>', 'reported status (default: UP)').argParser(oneOf(INSTANCE_STATUSES)))
    .option('--lease-duration-ms <ms>', 'lease duration (default: the server default)', integer(1, 2_147_483_647))
    .option('--renewal-interval-ms <ms>', 'renewal interval (default: the server default)', integer(1, 2_147_483_647))
    .option('--persistent', 'register a persistent (non-ephemeral) instance that stays until cancelled')
    .option('--json', 'print each state change as a JSON line')
    .addOption(serverOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (argument: string | undefined, flags: RegisterFlags, cmd: Command) => {
      const spec: InstanceSpec = {
        service: requiredService(argument, flags.service, cmd),
        ip: flags.ip,
        port: flags.port,
        ...(flags.group === undefined ? {} : { group: flags.group }),
        ...(flags.cluster === undefined ? {} : { cluster: flags.cluster }),
        ...(flags.weight === undefined ? {} : { weight: flags.weight }),
        ...(flags.metadata === undefined ? {} : { metadata: flags.metadata }),
        ...(flags.instanceId === undefined ? {} : { instanceId: flags.instanceId }),
        ...(flags.status === undefined ? {} : { status: flags.status }),
        ...(flags.leaseDurationMs === undefined ? {} : { leaseDurationMs: flags.leaseDurationMs }),
        ...(flags.renewalIntervalMs === undefined ? {} : { renewalIntervalMs: flags.renewalIntervalMs }),
        ...(flags.persistent === true ? { ephemeral: false } : {}),
      };
      const security = securityOrExit(flags, cmd);
      const client = createRegistryClient({
        ...(security === undefined ? {} : { security }),
        servers: flags.server,
        ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
        logger: createLogger('silent'),
      });
      const handle = client.register(spec);
      let last = '';
      handle.state$.subscribe((s) => {
        // A renewal that changes nothing is not news; print transitions only.
        const key = s.kind === 'registered' ? `registered:${s.instance.instanceId}:${s.instance.status}` : JSON.stringify(s);
        if (key === last) return;
        last = key;
        if (flags.json === true) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...s })}\n`);
        // A refusal is said once, on stderr, below.
        else if (s.kind !== 'rejected') process.stdout.write(`${describeState(s, spec)}\n`);
      });
      // Unavailability is retried for as long as it lasts; a refusal (a permanent error) ends it.
      const rejected = firstValueFrom(handle.state$.pipe(filter((s) => s.kind === 'rejected')), { defaultValue: undefined });
      const outcome = await Promise.race([untilSignal().then(() => undefined), rejected]);
      // close() cancels the lease, bounded by the call timeout: a dead server cannot block Ctrl-C.
      await client.close();
      if (outcome !== undefined) cmd.error(`herald: the server refused the registration: ${outcome.reason}`, { exitCode: EXIT.refused });
      process.exitCode = 0;
    });
}
