import { describe, expect, it } from 'vitest';
import { startServer } from '../../support/server.js';

describe('--consul-api', () => {
  it('serves /v1 by default and not with consulApi off (the other APIs still serve on the port)', async () => {
    const on = await startServer();
    const answer = await fetch(`http://127.0.0.1:${on.httpPort ?? 0}/v1/catalog/services`);
    expect(answer.status).toBe(200);
    expect(Number(answer.headers.get('x-consul-index'))).toBeGreaterThan(0);
    const off = await startServer({ consulApi: false });
    expect((await fetch(`http://127.0.0.1:${off.httpPort ?? 0}/v1/catalog/services`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${off.httpPort ?? 0}/eureka/apps`, { headers: { accept: 'application/json' } })).status).toBe(200);
  });
});
