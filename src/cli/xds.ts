/**
 * `herald xds bootstrap`: prints the xDS bootstrap file a gRPC application needs to dial
 * `xds:///<service>` through herald (docs/xds.md): the servers of `--server`, the node's id, and,
 * with `--token`, the token in the node metadata, the one place every gRPC xDS client lets a
 * bootstrap carry it. It talks to no server; it only writes what docs/xds.md describes.
 */
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { serverOption } from './client-options.js';

export interface BootstrapFlags {
  readonly server: readonly string[];
  readonly nodeId?: string;
  readonly token?: string;
  readonly tlsCa?: string;
}

/** The bootstrap as JSON: every server (clients use the first that answers; some fall back to the next), insecure or A65 TLS credentials. */
export function xdsBootstrap(f: BootstrapFlags): string {
  const channelCreds = f.tlsCa === undefined ? [{ type: 'insecure' }] : [{ type: 'tls', config: { ca_certificate_file: f.tlsCa } }];
  const bootstrap = {
    xds_servers: f.server.map((s) => ({ server_uri: s, channel_creds: channelCreds, server_features: [] })),
    node: {
      id: f.nodeId ?? hostname(),
      // grpc-js-xds refuses a node without a locality, even an empty one.
      locality: {},
      ...(f.token === undefined ? {} : { metadata: { authorization: `Bearer ${f.token}` } }),
    },
  };
  return `${JSON.stringify(bootstrap, null, 2)}\n`;
}

export function xdsCommand(): Command {
  const bootstrap = new Command('bootstrap')
    .description('print an xDS bootstrap file for gRPC clients that dial xds:///<service> (save it, point GRPC_XDS_BOOTSTRAP at it)')
    .addOption(serverOption())
    .option('--node-id <id>', "the node id the client reports (default: this machine's host name)")
    .addOption(new Option('--token <token>', 'a static token (herald auth token) to put in the node metadata, for a server with authentication on').env('HERALD_TOKEN'))
    .option('--tls-ca <path>', "the server's CA, as gRFC A65 TLS channel credentials (only clients that implement A65 can use it; see docs/xds.md)")
    .addHelpText(
      'after',
      `
Example:
  herald xds bootstrap --server 10.0.0.5:7070 > xds-bootstrap.json
  GRPC_XDS_BOOTSTRAP=$PWD/xds-bootstrap.json my-grpc-app   # which dials xds:///orders

Use a static token, not a login's access token: a bootstrap is read when the app starts, and an
access token expires.`,
    )
    .action((flags: BootstrapFlags) => {
      process.stdout.write(xdsBootstrap(flags));
    });
  return new Command('xds').description('xDS for proxyless gRPC clients: print their bootstrap file').addCommand(bootstrap);
}
