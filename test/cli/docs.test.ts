import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_OPTIONS } from '../../src/cli/serve-options.js';
import { buildProgram } from '../../src/cli/main.js';

/** Rows of the README's configuration table: [flag, env, default, meaning]. */
function readmeConfigRows(): string[][] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## gRPC API at a glance'));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) =>
      l
        .replace(/\\\|/g, '\u2502')
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replace(/\u2502/g, '|').replace(/^`|`$/g, '')),
    );
}

describe('documentation matches the code', () => {
  it("docs/client.md shows examples/quickstart.ts as it is (after its header comment)", () => {
    const example = readFileSync('examples/quickstart.ts', 'utf8');
    const guide = readFileSync('docs/client.md', 'utf8');
    const shown = /`examples\/quickstart\.ts` \(a test runs it[^\n]*\n\n```ts\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(shown).toBe(example.slice(example.indexOf('import { filter')));
  });

  it("the README's configuration table lists every serve option with its env var and default", () => {
    expect(readmeConfigRows()).toEqual(SERVE_OPTIONS.map((o) => [o.flag, o.env, o.defaultText, o.description]));
  });

  it('serve --help shows every option with its default and env var', () => {
    const help = buildProgram().commands.find((c) => c.name() === 'serve')?.helpInformation() ?? '';
    for (const o of SERVE_OPTIONS) {
      expect(help).toContain(o.flag);
      expect(help).toContain(`(default: ${o.defaultText}) (env: ${o.env})`);
    }
  });

  it('the README documents every command', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const c of buildProgram().commands) expect(readme).toContain(`### \`herald ${c.name()}\``);
  });
});

describe('the client guide matches the code', () => {
  it('lists every client option with its default', async () => {
    const { CLIENT_DEFAULTS } = await import('../../src/client/options.js');
    const guide = readFileSync('docs/client.md', 'utf8');
    const rows = new Map(
      guide
        .slice(guide.indexOf('## Options'))
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .map((l) => l.split('|').map((c) => c.trim().replace(/^`|`$/g, '')))
        .map((cells) => [cells[1] ?? '', cells[2] ?? '']),
    );
    for (const [key, value] of Object.entries(CLIENT_DEFAULTS)) expect(rows.get(key)).toBe(String(value));
    for (const key of ['servers', 'cacheDir', 'scheduler', 'logger', 'random', 'transportFactory']) expect(rows.has(key)).toBe(true);
  });
});
