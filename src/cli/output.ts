/**
 * `-o table|json|wide` on every read command (`--json` stays as an alias of `-o json`): table is
 * the default, readable at a glance; wide adds the columns a table leaves out; json is the data as
 * the API returns it, for scripts.
 */
import { Option, type Command } from 'commander';

export const OUTPUT_FORMATS = ['table', 'json', 'wide'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Adds `-o, --output` and `--json` to a command. */
export function withOutputOptions(cmd: Command, what = 'output format'): Command {
  return cmd
    .addOption(new Option('-o, --output <format>', `${what}: table, json or wide`).choices(OUTPUT_FORMATS).default('table'))
    .addOption(new Option('--json', 'same as -o json'));
}

/** The chosen format (`--json` wins over the default, and agrees with an explicit `-o json`). */
export function outputOf(flags: { output?: OutputFormat; json?: boolean }): OutputFormat {
  return flags.json === true ? 'json' : (flags.output ?? 'table');
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
