/** The `herald` command: serve, and tools to register, list, watch and inspect a node and its cluster, and to make credentials, from a terminal. */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { authCommand } from './auth.js';
import { clusterCommand } from './cluster.js';
import { listCommand } from './list.js';
import { silenceIpServernameWarning } from './node-warnings.js';
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

export async function run(argv: readonly string[]): Promise<void> {
  silenceIpServernameWarning();
  await buildProgram().parseAsync([...argv]);
}
