/** `herald list`: services of a namespace, or the instances of one service, as a table or JSON. */
import { Command } from 'commander';
import { RegistryTransport } from '../client/registry-transport.js';
import { snapshotFromWire } from '../client/codec.js';
import { ListServicesRequest, GetServiceRequest } from '../gen/herald/v1/registry_service.js';
import type { ServiceSummary } from '../gen/herald/v1/model.js';
import { firstAnswer, groupOption, namespaceOption, reason, type SecurityFlags, securityOrExit, serverOption, withSecurityOptions } from './client-options.js';
import { endpoint, metadataText, table } from './format.js';

interface ListFlags extends SecurityFlags {
  service?: string;
  namespace?: string;
  group?: string;
  json?: boolean;
  server: string[];
}

async function allServices(t: RegistryTransport, namespace: string, group: string): Promise<ServiceSummary[]> {
  const out: ServiceSummary[] = [];
  let pageToken = '';
  do {
    const page = await t.listServices(ListServicesRequest.fromPartial({ namespace, group, pageSize: 1000, pageToken }));
    out.push(...page.services);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return out;
}

/** What `herald list` prints, read from one server. */
async function listing(t: RegistryTransport, flags: ListFlags): Promise<string> {
  if (flags.service === undefined) {
    const services = await allServices(t, flags.namespace ?? '', flags.group ?? '');
    if (flags.json === true) return `${JSON.stringify(services, null, 2)}\n`;
    if (services.length === 0) return 'no services\n';
    return table(
      ['GROUP', 'SERVICE', 'INSTANCES', 'HEALTHY', 'CLUSTERS', 'REVISION'],
      services.map((s) => [s.group, s.name, String(s.instanceCount), String(s.healthyInstanceCount), s.clusters.join(','), String(s.revision)]),
    );
  }
  const res = await t.getService(GetServiceRequest.fromPartial({ namespace: flags.namespace ?? '', group: flags.group ?? '', service: flags.service }));
  const snap = res.serviceInfo === undefined ? undefined : snapshotFromWire(res.serviceInfo);
  if (flags.json === true) return `${JSON.stringify(snap, null, 2)}\n`;
  if (snap === undefined || snap.hosts.length === 0) return `no instances of ${flags.group ?? 'DEFAULT_GROUP'}@@${flags.service}\n`;
  return table(
    ['INSTANCE', 'ENDPOINT', 'STATUS', 'HEALTHY', 'ENABLED', 'WEIGHT', 'CLUSTER', 'METADATA'],
    snap.hosts.map((h) => [
      h.instanceId,
      endpoint(h.ip, h.port),
      h.overriddenStatus === undefined ? h.status : `${h.status} (override)`,
      h.healthy ? 'yes' : 'no',
      h.enabled ? 'yes' : 'no',
      String(h.weight),
      h.cluster,
      metadataText(h.metadata),
    ]),
  );
}

export function listCommand(): Command {
  return withSecurityOptions(new Command('list'))
    .description('list services, or the instances of one service')
    .option('--service <name>', 'show the instances of this service')
    .addOption(namespaceOption())
    .addOption(groupOption())
    .option('--json', 'print JSON instead of a table')
    .addOption(serverOption())
    .action(async (flags: ListFlags, cmd: Command) => {
      // An admin read: the first server that can be reached answers.
      const security = securityOrExit(flags, cmd);
      try {
        const { value } = await firstAnswer(flags.server, async (server) => {
          const t = new RegistryTransport(server, security === undefined ? {} : { security });
          try {
            return await listing(t, flags);
          } finally {
            t.close();
          }
        });
        process.stdout.write(value);
      } catch (e) {
        cmd.error(`herald: ${reason(e)}`, { exitCode: 1 });
      }
    });
}
