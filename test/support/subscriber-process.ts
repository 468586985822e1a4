/**
 * A separate process that subscribes to a service and prints one line per push ("push <hosts>"),
 * so tests can kill it with SIGKILL like a crashed client. Args: <port> <service>.
 */
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { RegistryTransport } from '../../src/client/registry-transport.js';

const [port = '', service = ''] = process.argv.slice(2);
const t = new RegistryTransport(`127.0.0.1:${port}`);
t.subscribe(SubscribeRequest.fromPartial({ service })).subscribe({
  next: (info) => process.stdout.write(`push ${info.hosts.length}\n`),
  error: (e: unknown) => {
    process.stderr.write(`error ${String(e)}\n`);
    process.exit(1);
  },
});
