/**
 * How every command names a service: the `<service>` argument, or `--service <name>` (the form
 * older scripts use); both at once must agree. One rule, one error text.
 */
import { Option, type Command } from 'commander';

/** `--service <name>`, the flag form of the `<service>` argument. */
export function serviceOption(): Option {
  return new Option('--service <name>', 'the service (same as the <service> argument)');
}

/** The service named by the argument or the flag; undefined when neither names one. */
export function serviceOf(argument: string | undefined, flag: string | undefined, cmd: Command): string | undefined {
  if (argument !== undefined && flag !== undefined && argument !== flag) {
    cmd.error(`herald: the service is named twice, as ${argument} and --service ${flag}`, { exitCode: 2 });
  }
  const name = argument ?? flag;
  if (name === '') cmd.error('herald: the service name is empty', { exitCode: 2 });
  return name;
}

/** Like serviceOf, for commands that need a service: a usage error when neither names one. */
export function requiredService(argument: string | undefined, flag: string | undefined, cmd: Command): string {
  const name = serviceOf(argument, flag, cmd);
  if (name === undefined) cmd.error('herald: missing the service: give it as the <service> argument (or --service)', { exitCode: 2 });
  return name;
}

/**
 * For commands taking `<service> <a> <b>…` where the service may come as `--service` instead: the
 * service and the values named by `rest`, or a usage error saying what was expected.
 */
export function serviceThen(args: readonly (string | undefined)[], flag: string | undefined, rest: readonly string[], cmd: Command): { service: string; values: string[] } {
  const given = args.filter((a): a is string => a !== undefined);
  if (given.length === rest.length + 1) {
    return { service: requiredService(given[0], flag, cmd), values: given.slice(1) };
  }
  if (given.length === rest.length && flag !== undefined) return { service: requiredService(undefined, flag, cmd), values: given };
  const names = rest.map((r) => `<${r}>`).join(' ');
  cmd.error(`herald: expected <service> ${names} (or --service <name> ${names})`, { exitCode: 2 });
}
