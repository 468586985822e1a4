/** The `herald` command: serve, and tools to register, list, watch and inspect a node and its cluster, and to make credentials, from a terminal. */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { authCommand } from './auth.js';
import { clusterCommand } from './cluster.js';
import { listCommand } from './list.js';
import { registerCommand } from './register.js';
import { serveCommand } from './serve.js';
import { statusCommand } from './status.js';
import { watchCommand } from './watch.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  return new Command('herald')
    .description('herald: a push-based service registry')
    .version(pkg.version)
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(registerCommand())
    .addCommand(listCommand())
    .addCommand(watchCommand())
    .addCommand(clusterCommand())
    .addCommand(statusCommand())
    .addCommand(authCommand());
}

/**
 * grpc-js names an IP target as the TLS server name, which Node flags once per process (DEP0123);
 * certificates are still verified against the IP's SAN. The CLI keeps its stderr to what matters.
 */
function quietIpServerNameWarning(): void {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    (emit as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
  });
}

export async function run(argv: readonly string[]): Promise<void> {
  quietIpServerNameWarning();
  await buildProgram().parseAsync([...argv]);
}
