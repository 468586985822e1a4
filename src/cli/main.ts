/** The `herald` command: serve, and tools to register, read, change, watch and inspect a node and its cluster, and to make credentials, from a terminal. */
import { createRequire } from 'node:module';
import { Command, type CommanderError } from 'commander';
import { authCommand } from './auth.js';
import { xdsCommand } from './xds.js';
import { clusterCommand } from './cluster.js';
import { completionCommand } from './completion.js';
import { deregisterCommand } from './deregister.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { getCommand } from './get.js';
import { healthCommand } from './health.js';
import { listCommand } from './list.js';
import { silenceIpServernameWarning } from './node-warnings.js';
import { registerCommand } from './register.js';
import { serveCommand } from './serve.js';
import { statusCommand } from './status.js';
import { watchCommand } from './watch.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Commander's own errors that are about how the command was typed: exit 2 (see exit-codes.ts). */
function isUsageError(e: CommanderError): boolean {
  return e.code !== 'commander.error' && e.code !== 'commander.executeSubCommandAsync' && e.exitCode !== 0;
}

/** Every command (and subcommand) exits through this: usage errors with 2, the rest as they say. */
function exitWith(e: CommanderError): never {
  process.exit(isUsageError(e) ? EXIT.usage : e.exitCode);
}

function applyExitCodes(cmd: Command): void {
  cmd.exitOverride(exitWith);
  for (const c of cmd.commands) applyExitCodes(c);
}

export function buildProgram(): Command {
  const program = new Command('herald')
    .description('herald: a push-based service registry')
    .version(pkg.version)
    .showHelpAfterError()
    // A command's flags belong to it (and `status set`'s to set, not to status).
    .enablePositionalOptions()
    .addCommand(serveCommand())
    .addCommand(registerCommand())
    .addCommand(deregisterCommand())
    .addCommand(getCommand())
    .addCommand(listCommand())
    .addCommand(watchCommand())
    .addCommand(statusCommand())
    .addCommand(healthCommand())
    .addCommand(clusterCommand())
    .addCommand(authCommand())
    .addCommand(xdsCommand())
    .addCommand(completionCommand(buildProgram))
    .addHelpText('after', EXIT_CODES_HELP);
  applyExitCodes(program);
  return program;
}

export async function run(argv: readonly string[]): Promise<void> {
  silenceIpServernameWarning();
  await buildProgram().parseAsync([...argv]);
}
