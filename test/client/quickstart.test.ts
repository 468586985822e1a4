import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { connect, onCleanup, record, startServer } from '../support/server.js';

/**
 * Loaded before the example: prints a line once a SIGINT listener is in place, so the test sends
 * Ctrl-C only once the example would handle it rather than be killed by it.
 */
const SIGINT_MARK = '[test] SIGINT handler installed';
const markSigint = `data:text/javascript,${encodeURIComponent(`
const on = process.on;
process.on = function (event, listener) {
  const result = on.call(this, event, listener);
  if (event === 'SIGINT') process.stdout.write(${JSON.stringify(`${SIGINT_MARK}
`)});
  return result;
};`)}`;

describe('examples/quickstart.ts (the client guide example)', () => {
  it('runs as documented: registers, watches, picks an instance, deregisters on Ctrl-C', async () => {
    const server = await startServer({ mergeWindowMs: 2 });
    await connect(server).register(RegisterRequest.fromPartial({ service: 'payments', instance: { ip: '10.1.1.1', port: 9000 } }));
    // Run from an empty directory (its .herald-cache stays out of the repo), so tsx is given by URL.
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--import', markSigint, `${process.cwd()}/examples/quickstart.ts`], {
      cwd: mkdtempSync(`${tmpdir()}/herald-example-`),
      env: { ...process.env, HERALD_SERVER: `127.0.0.1:${server.port}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onCleanup(() => child.kill('SIGKILL'));
    const printed = new Subject<string>();
    createInterface({ input: child.stdout })
      .on('line', (l) => {
        printed.next(l);
      })
      .on('close', () => {
        printed.complete();
      });
    const output = record(printed);
    const lines = output.values;
    await output.until((l) => l.startsWith('would call payments'), 'example output');
    expect(lines).toContain('registered 10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@checkout');
    expect(lines).toContain('payments: 1 instances (initial)');
    expect(lines).toContain('would call payments at 10.1.1.1:9000');
    expect(server.registry.stats().instances).toBe(2);
    // The example installs its own Ctrl-C handler before anything else.
    expect(lines[0]).toBe(SIGINT_MARK);
    child.kill('SIGINT');
    await output.until((l) => l === 'deregistered, bye', 'clean exit');
    expect(server.registry.stats().instances).toBe(1);
  });
});
