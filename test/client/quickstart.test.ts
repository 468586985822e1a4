import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { connect, eventually, onCleanup, startServer } from '../support/server.js';

describe('examples/quickstart.ts (the client guide example)', () => {
  it('runs as documented: registers, watches, picks an instance, deregisters on Ctrl-C', async () => {
    const server = await startServer({ mergeWindowMs: 2 });
    await connect(server).register(RegisterRequest.fromPartial({ service: 'payments', instance: { ip: '10.1.1.1', port: 9000 } }));
    // Run from an empty directory (its .herald-cache stays out of the repo), so tsx is given by URL.
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), `${process.cwd()}/examples/quickstart.ts`], {
      cwd: mkdtempSync(`${tmpdir()}/herald-example-`),
      env: { ...process.env, HERALD_SERVER: `127.0.0.1:${server.port}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onCleanup(() => child.kill('SIGKILL'));
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    await eventually(() => lines.some((l) => l.startsWith('would call payments')), 'example output');
    expect(lines).toContain('registered 10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@checkout');
    expect(lines).toContain('payments: 1 instances (initial)');
    expect(lines).toContain('would call payments at 10.1.1.1:9000');
    expect(server.registry.stats().instances).toBe(2);
    child.kill('SIGINT');
    await eventually(() => lines.includes('deregistered, bye'), 'clean exit');
    expect(server.registry.stats().instances).toBe(1);
  });
});
