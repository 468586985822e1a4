/** `herald xds bootstrap`: the bootstrap gRPC xDS clients read (a Python client uses its output in test/interop/xds-python.test.ts); and where `herald serve` says xDS is. */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { xdsBootstrap } from '../../src/cli/xds.js';
import { heraldOnce, serve } from '../support/cli.js';

describe('herald xds bootstrap', () => {
  it('prints every --server, insecure credentials, the host name as node id and an empty locality, and no metadata without a token', async () => {
    const r = await heraldOnce(['xds', 'bootstrap', '--server', '10.0.0.5:7070,10.0.0.6:7070']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      xds_servers: [
        { server_uri: '10.0.0.5:7070', channel_creds: [{ type: 'insecure' }], server_features: [] },
        { server_uri: '10.0.0.6:7070', channel_creds: [{ type: 'insecure' }], server_features: [] },
      ],
      node: { id: hostname(), locality: {} },
    });
  });

  it('puts a token in the node metadata, and --tls-ca as gRFC A65 tls channel credentials', () => {
    const b = JSON.parse(xdsBootstrap({ server: ['h:7070'], nodeId: 'app-1', token: 't0k', tlsCa: '/etc/herald/ca.pem' })) as unknown;
    expect(b).toEqual({
      xds_servers: [{ server_uri: 'h:7070', channel_creds: [{ type: 'tls', config: { ca_certificate_file: '/etc/herald/ca.pem' } }], server_features: [] }],
      node: { id: 'app-1', locality: {}, metadata: { authorization: 'Bearer t0k' } },
    });
  });

  it('refuses an unknown flag with exit 2', async () => {
    const r = await heraldOnce(['xds', 'bootstrap', '--tokn', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--tokn'");
  });

  it('herald serve says where xDS is served in its serving line, and not with --xds off', async () => {
    const on = await serve(['--data-dir', 'none']);
    const onLine = JSON.parse(await on.line(/herald is serving/, 'stderr')) as { address: string; xds?: string };
    expect(onLine.xds).toBe(onLine.address);
    const off = await serve(['--data-dir', 'none', '--xds', 'off']);
    const offLine = JSON.parse(await off.line(/herald is serving/, 'stderr')) as { xds?: string };
    expect(offLine.xds).toBeUndefined();
  });
});
