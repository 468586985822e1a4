/**
 * `herald get <service>`: one service's snapshot as the server holds it (GetService), as a table,
 * a wide table or JSON. Service names are matched exactly, as the gRPC API and Nacos clients do;
 * when nothing matches exactly and exactly one service differs only in case (a Eureka app, which
 * Eureka clients register in upper case: `web` is stored as `WEB`), that one is shown, with a note
 * on stderr saying so.
 */
import { Command } from 'commander';
import { RegistryTransport } from '../client/registry-transport.js';
import { snapshotFromWire } from '../client/codec.js';
import type { ServiceSnapshot } from '../client/model.js';
import { GetServiceRequest, ListServicesRequest } from '../gen/herald/v1/registry_service.js';
import type { ServiceSummary } from '../gen/herald/v1/model.js';
import { firstAnswer, groupOption, namespaceOption, reason, type SecurityFlags, securityOrExit, serverOption, withSecurityOptions } from './client-options.js';
import { exitCodeOf, EXIT_CODES_HELP, NotFoundError } from './exit-codes.js';
import { endpoint, metadataText, table } from './format.js';
import { json, outputOf, withOutputOptions, type OutputFormat } from './output.js';
import { requiredService, serviceOption } from './service-name.js';

export interface ReadFlags extends SecurityFlags {
  namespace?: string;
  group?: string;
  service?: string;
  output?: OutputFormat;
  json?: boolean;
  server: string[];
}

/** Every service of a namespace (and group; empty = all groups), page by page. */
export async function allServices(t: RegistryTransport, namespace: string, group: string): Promise<ServiceSummary[]> {
  const out: ServiceSummary[] = [];
  let pageToken = '';
  do {
    const page = await t.listServices(ListServicesRequest.fromPartial({ namespace, group, pageSize: 1000, pageToken }));
    out.push(...page.services);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return out;
}

function snapshotOf(t: RegistryTransport, namespace: string, group: string, service: string): Promise<ServiceSnapshot | undefined> {
  return t.getService(GetServiceRequest.fromPartial({ namespace, group, service })).then((r) => (r.serviceInfo === undefined ? undefined : snapshotFromWire(r.serviceInfo)));
}

/**
 * The snapshot of `service`, or of the one service whose name differs only in case when nothing
 * matches exactly (with a note for stderr); NotFoundError when neither has instances.
 */
export async function findSnapshot(t: RegistryTransport, namespace: string, group: string, service: string): Promise<{ snapshot: ServiceSnapshot; note?: string }> {
  const exact = await snapshotOf(t, namespace, group, service);
  if (exact !== undefined && exact.hosts.length > 0) return { snapshot: exact };
  const lower = service.toLowerCase();
  const groupName = group === '' ? 'DEFAULT_GROUP' : group;
  const near = (await allServices(t, namespace, groupName)).filter((s) => s.name !== service && s.name.toLowerCase() === lower && s.instanceCount > 0);
  const only = near.length === 1 ? near[0] : undefined;
  if (only !== undefined) {
    const other = await snapshotOf(t, namespace, group, only.name);
    if (other !== undefined && other.hosts.length > 0) {
      return { snapshot: other, note: `no service ${service}; showing ${only.name}, the one service whose name differs only in case (Eureka registers app names in upper case)` };
    }
  }
  const others = near.length > 1 ? ` (services differing only in case: ${near.map((s) => s.name).join(', ')})` : '';
  throw new NotFoundError(`no instances of ${groupName}@@${service}${others}`);
}

function statusText(h: ServiceSnapshot['hosts'][number]): string {
  return h.overriddenStatus === undefined ? h.status : `${h.status} (override)`;
}

/** A snapshot as `herald get` and `herald list <service>` print it. */
export function renderSnapshot(snap: ServiceSnapshot, output: OutputFormat): string {
  if (output === 'json') return json(snap);
  const head = `${snap.group}@@${snap.name}  revision ${snap.revision}  ${snap.hosts.length} instance(s), ${snap.hosts.filter((h) => h.healthy && h.enabled && h.status === 'UP').length} usable${snap.reachProtectionThreshold ? '  PROTECTION THRESHOLD REACHED' : ''}\n`;
  if (output === 'wide') {
    return (
      head +
      table(
        ['INSTANCE', 'ENDPOINT', 'STATUS', 'OVERRIDE', 'HEALTHY', 'ENABLED', 'EPHEMERAL', 'WEIGHT', 'CLUSTER', 'LEASE MS', 'RENEW MS', 'LAST DIRTY', 'METADATA'],
        snap.hosts.map((h) => [
          h.instanceId,
          endpoint(h.ip, h.port),
          h.status,
          h.overriddenStatus ?? '-',
          h.healthy ? 'yes' : 'no',
          h.enabled ? 'yes' : 'no',
          h.ephemeral ? 'yes' : 'no',
          String(h.weight),
          h.cluster,
          h.ephemeral ? String(h.leaseDurationMs) : '-',
          h.ephemeral ? String(h.renewalIntervalMs) : '-',
          h.lastDirtyTimestamp === 0 ? '-' : new Date(h.lastDirtyTimestamp).toISOString(),
          metadataText(h.metadata),
        ]),
      )
    );
  }
  return (
    head +
    table(
      ['INSTANCE', 'ENDPOINT', 'STATUS', 'HEALTHY', 'ENABLED', 'WEIGHT', 'CLUSTER', 'METADATA'],
      snap.hosts.map((h) => [
        h.instanceId,
        endpoint(h.ip, h.port),
        statusText(h),
        h.healthy ? 'yes' : 'no',
        h.enabled ? 'yes' : 'no',
        String(h.weight),
        h.cluster,
        metadataText(h.metadata),
      ]),
    )
  );
}

/** One service as `herald get` prints it (and `herald list <service>`), with the note findSnapshot may add. */
export async function snapshotText(t: RegistryTransport, flags: ReadFlags, service: string): Promise<{ text: string; note?: string | undefined }> {
  const { snapshot, note } = await findSnapshot(t, flags.namespace ?? '', flags.group ?? '', service);
  return { text: renderSnapshot(snapshot, outputOf(flags)), note };
}

/** Runs a read on the first server that answers and prints it; ends the command with the right exit code when it fails. */
export async function printRead(flags: ReadFlags, cmd: Command, read: (t: RegistryTransport) => Promise<{ text: string; note?: string | undefined }>): Promise<void> {
  const security = securityOrExit(flags, cmd);
  try {
    const { value } = await firstAnswer(flags.server, async (server) => {
      const t = new RegistryTransport(server, security === undefined ? {} : { security });
      try {
        return await read(t);
      } finally {
        t.close();
      }
    });
    if (value.note !== undefined) process.stderr.write(`herald: ${value.note}\n`);
    process.stdout.write(value.text);
  } catch (e) {
    cmd.error(`herald: ${e instanceof NotFoundError ? e.message : reason(e)}`, { exitCode: exitCodeOf(e) });
  }
}

export function getCommand(): Command {
  return withOutputOptions(withSecurityOptions(new Command('get')))
    .description("show one service's instances as the server holds them (exit 5 when it has none)")
    .argument('[service]', 'the service')
    .addOption(serviceOption())
    .addOption(namespaceOption())
    .addOption(groupOption())
    .addOption(serverOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (argument: string | undefined, flags: ReadFlags, cmd: Command) => {
      const service = requiredService(argument, flags.service, cmd);
      await printRead(flags, cmd, (t) => snapshotText(t, flags, service));
    });
}
