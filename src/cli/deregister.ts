/** `herald deregister <service> <instance-id>`: cancels one instance (Cancel), as its registrant would on shutdown. */
import { Command } from 'commander';
import { CancelRequest } from '../gen/herald/v1/registry_service.js';
import { instanceFromWire } from '../client/codec.js';
import { groupOption, namespaceOption, serverOption, withSecurityOptions } from './client-options.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { endpoint } from './format.js';
import { printRead, type ReadFlags } from './get.js';
import { json, outputOf, withOutputOptions } from './output.js';
import { serviceOption, serviceThen } from './service-name.js';

export function deregisterCommand(): Command {
  return withOutputOptions(withSecurityOptions(new Command('deregister')), 'output format of the removed instance')
    .description('remove one instance now (cancel its registration; exit 5 when it is not registered)')
    .argument('[service]', 'the service (or --service)')
    .argument('[instance-id]', 'the instance to remove (herald get shows the ids)')
    .addOption(serviceOption())
    .addOption(namespaceOption())
    .addOption(groupOption())
    .addOption(serverOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (first: string | undefined, second: string | undefined, flags: ReadFlags, cmd: Command) => {
      const {
        service,
        values: [instanceId = ''],
      } = serviceThen([first, second], flags.service, ['instance-id'], cmd);
      await printRead(flags, cmd, async (t) => {
        const r = await t.cancel(CancelRequest.fromPartial({ namespace: flags.namespace ?? '', group: flags.group ?? '', service, instanceId }));
        const removed = r.instance === undefined ? undefined : instanceFromWire(r.instance);
        if (outputOf(flags) === 'json') return { text: json(removed ?? { instanceId }) };
        return { text: `deregistered ${instanceId}${removed === undefined ? '' : ` (${endpoint(removed.ip, removed.port)})`} from ${service}\n` };
      });
    });
}
