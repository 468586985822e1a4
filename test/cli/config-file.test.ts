/** `herald serve --config` and `--print-config` on real processes: precedence, sources, errors naming file and key. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { herald, heraldOnce } from '../support/cli.js';

function file(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'herald-config-')), name);
  writeFileSync(path, content);
  return path;
}

/** The printed settings as key → [value, source]. */
function settings(printed: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of printed.split('\n')) {
    const m = /^#? ?([a-z-]+): (.*?) {2}# (.*)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], [m[2] ?? '', m[3] ?? '']);
  }
  return out;
}

describe('herald serve --config', () => {
  it('takes settings from the file, below env vars and flags, and --print-config says where each came from', async () => {
    const path = file('herald.yaml', 'merge-window-ms: 7\nlease-duration-ms: 50000\npeers:\n  - 127.0.0.1:7071\n  - 127.0.0.1:7072\nnode-id: from-file\ncluster-secret: s3cret\n');
    const r = await heraldOnce(['serve', '--config', path, '--print-config', '--host', '127.0.0.1', '--lease-duration-ms', '60000'], { HERALD_NODE_ID: 'from-env' });
    expect(r.code).toBe(0);
    const s = settings(r.stdout);
    expect(s.get('merge-window-ms')).toEqual(['7', `file ${path}`]);
    expect(s.get('lease-duration-ms')).toEqual(['60000', 'flag']);
    expect(s.get('node-id')).toEqual(['from-env', 'env HERALD_NODE_ID']);
    expect(s.get('peers')).toEqual(['127.0.0.1:7071,127.0.0.1:7072', `file ${path}`]);
    expect(s.get('renewal-interval-ms')).toEqual(['30000', 'default']);
    // A secret is said to be set, never shown.
    expect(s.get('cluster-secret')).toEqual(['(set, not shown)', `file ${path}`]);
    expect(r.stdout).not.toContain('s3cret');
    // The printout is itself a config file: loaded again, it gives the same values.
    const again = await heraldOnce(['serve', '--config', file('effective.yaml', r.stdout), '--print-config']);
    expect(again.code).toBe(0);
    // (Not the secret, shown only as set; nor the data dir, which the test harness gives each serve as a flag.)
    const values = (m: Map<string, [string, string]>): string[] => [...m].filter(([k]) => k !== 'cluster-secret' && k !== 'data-dir').map(([k, [v]]) => `${k}=${v}`);
    expect(values(settings(again.stdout))).toEqual(values(s));
  });

  it('serves with the settings of the file', async () => {
    const path = file('herald.json', JSON.stringify({ host: '127.0.0.1', port: 0, 'http-port': 0, 'node-id': 'node-from-file', 'log-level': 'info' }));
    const p = herald(['serve', '--config', path]);
    const { address } = JSON.parse(await p.line(/herald is serving/)) as { address: string };
    const status = await heraldOnce(['status', '--server', address]);
    expect(status.stdout.split('\n')[0]).toMatch(/^node node-from-file /);
    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('refuses a file it cannot use with exit 2, naming the file and the key', async () => {
    const cases: [string, string][] = [
      ['merge-window: 7\n', 'unknown setting "merge-window" (the keys are herald serve\'s flags without the dashes, e.g. merge-window-ms)'],
      ['merge-window-ms: abc\n', 'merge-window-ms: must be an integer from 0 to 10000'],
      ['self-preservation: maybe\n', 'self-preservation: must be on or off'],
      ['peers: { a: 1 }\n', 'peers: must be a string, a number, a boolean or a list of them'],
      ['- port\n', 'must be a mapping of settings (key: value), like the flags of herald serve'],
      ['{ "port": 7272, ', 'not valid YAML or JSON: '],
    ];
    for (const [content, message] of cases) {
      const path = file('bad.yaml', content);
      const r = await heraldOnce(['serve', '--config', path]);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain(`herald: ${path}: ${message}`);
    }
    const missing = await heraldOnce(['serve', '--config', '/nonexistent/herald.yaml']);
    expect([missing.code, missing.stderr]).toEqual([2, 'herald: /nonexistent/herald.yaml: cannot read the config file: no such file']);
  });
});
