/**
 * `herald watch`: prints every push of one service the moment it arrives, with what changed (like
 * `etcdctl watch`). Reconnects by itself with back-off when the stream breaks.
 */
import { Command } from 'commander';
import { retry, timer } from 'rxjs';
import { RegistryTransport } from '../client/registry-transport.js';
import { snapshotFromWire } from '../client/codec.js';
import { diffHosts } from '../client/diff.js';
import type { HostDiff, ServiceInstance, ServiceSnapshot } from '../client/model.js';
import { SubscribeRequest } from '../gen/herald/v1/registry_service.js';
import { groupOption, namespaceOption, reason, serverOption, untilSignal } from './client-options.js';
import { endpoint, metadataText } from './format.js';
import { list } from './parse.js';

interface WatchFlags {
  namespace?: string;
  group?: string;
  cluster?: string[];
  healthyOnly?: boolean;
  json?: boolean;
  server: string;
}

function hostLine(sign: string, h: ServiceInstance): string {
  const status = h.overriddenStatus === undefined ? h.status : `${h.status}(override)`;
  const flags = [h.healthy ? '' : 'unhealthy', h.enabled ? '' : 'disabled'].filter((f) => f !== '').join(',');
  const meta = metadataText(h.metadata);
  return `  ${sign} ${h.instanceId}  ${endpoint(h.ip, h.port)}  ${status}${flags === '' ? '' : ` ${flags}`}  weight ${h.weight}  ${h.cluster}${meta === '' ? '' : `  ${meta}`}`;
}

function render(snap: ServiceSnapshot, diff: HostDiff, first: boolean): string {
  const time = new Date().toISOString().slice(11, 23);
  const counts = first ? 'initial' : `+${diff.added.length} ~${diff.modified.length} -${diff.removed.length}`;
  const protection = snap.reachProtectionThreshold ? '  PROTECTION THRESHOLD REACHED' : '';
  const head = `${time}  ${snap.group}@@${snap.name}  revision ${snap.revision}  ${snap.hosts.length} hosts  ${counts}${protection}`;
  const lines = [...diff.added.map((h) => hostLine('+', h)), ...diff.modified.map((h) => hostLine('~', h)), ...diff.removed.map((h) => hostLine('-', h))];
  return [head, ...lines].join('\n') + '\n';
}

export function watchCommand(): Command {
  return new Command('watch')
    .description('print every push of a service as it arrives, with what changed')
    .argument('<service>', 'service name')
    .addOption(namespaceOption())
    .addOption(groupOption())
    .option('--cluster <cluster>', 'only these clusters (repeat or comma-separate)', list)
    .option('--healthy-only', 'only usable instances (healthy, enabled, UP)')
    .option('--json', 'print each push as a JSON line')
    .addOption(serverOption())
    .action(async (service: string, flags: WatchFlags) => {
      const t = new RegistryTransport(flags.server);
      const req = SubscribeRequest.fromPartial({
        namespace: flags.namespace ?? '',
        group: flags.group ?? '',
        service,
        clusters: flags.cluster ?? [],
        healthyOnly: flags.healthyOnly === true,
      });
      let previous: ServiceSnapshot | undefined;
      let failures = 0;
      const sub = t
        .subscribe(req)
        .pipe(
          retry({
            resetOnSuccess: true,
            delay: (e: unknown) => {
              failures++;
              const delay = Math.min(10_000, 500 * 2 ** Math.min(failures - 1, 10));
              process.stderr.write(`stream ended (${reason(e)}); reconnecting in ${delay} ms\n`);
              return timer(delay);
            },
          }),
        )
        .subscribe((info) => {
          failures = 0;
          const snap = snapshotFromWire(info);
          const first = previous === undefined;
          const diff = diffHosts(previous?.hosts ?? [], snap.hosts);
          previous = snap;
          if (!first && diff.added.length + diff.modified.length + diff.removed.length === 0 && !flags.json) {
            // A reconnect's first snapshot that matches what we had is not a change.
            return;
          }
          if (flags.json === true) {
            const ids = (hs: readonly ServiceInstance[]) => hs.map((h) => h.instanceId);
            process.stdout.write(
              `${JSON.stringify({ time: new Date().toISOString(), initial: first, added: ids(diff.added), modified: ids(diff.modified), removed: ids(diff.removed), snapshot: snap })}\n`,
            );
          } else {
            process.stdout.write(render(snap, diff, first));
          }
        });
      await untilSignal();
      sub.unsubscribe();
      t.close();
      process.exitCode = 0;
    });
}
