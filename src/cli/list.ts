/** `herald list`: the services of a namespace, or (given a service) its instances as `herald get` shows them. */
import { Command } from 'commander';
import { groupOption, namespaceOption, serverOption, withSecurityOptions } from './client-options.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { table } from './format.js';
import { allServices, printRead, snapshotText, type ReadFlags } from './get.js';
import { json, outputOf, withOutputOptions } from './output.js';
import { serviceOf, serviceOption } from './service-name.js';

export function listCommand(): Command {
  return withOutputOptions(withSecurityOptions(new Command('list')))
    .description('list the services of a namespace, or the instances of one service')
    .argument('[service]', 'show the instances of this service (as herald get does)')
    .addOption(serviceOption())
    .addOption(namespaceOption())
    .addOption(groupOption())
    .addOption(serverOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (argument: string | undefined, flags: ReadFlags, cmd: Command) => {
      const service = serviceOf(argument, flags.service, cmd);
      const output = outputOf(flags);
      await printRead(flags, cmd, async (t) => {
        if (service !== undefined) return snapshotText(t, flags, service);
        const services = await allServices(t, flags.namespace ?? '', flags.group ?? '');
        if (output === 'json') return { text: json(services) };
        if (services.length === 0) return { text: 'no services\n' };
        const wide = output === 'wide';
        return {
          text: table(
            ['GROUP', 'SERVICE', 'INSTANCES', 'HEALTHY', 'CLUSTERS', 'REVISION', ...(wide ? ['PROTECT THRESHOLD', 'NAMESPACE'] : [])],
            services.map((s) => [
              s.group,
              s.name,
              String(s.instanceCount),
              String(s.healthyInstanceCount),
              s.clusters.join(','),
              String(s.revision),
              ...(wide ? [String(s.protectThreshold), s.namespace] : []),
            ]),
          ),
        };
      });
    });
}
