/**
 * herald SDK quick start: register this service, watch another, pick an instance of it.
 *
 *   npm start                       # a server on 127.0.0.1:7070 (in another terminal)
 *   npx tsx examples/quickstart.ts  # Ctrl-C to stop (the instance is deregistered)
 *
 * HERALD_SERVER overrides the server address (comma-separate several to fail over between them).
 */
import { filter, firstValueFrom } from 'rxjs';
import { createRegistryClient } from 'herald';

const servers = (process.env.HERALD_SERVER ?? '127.0.0.1:7070').split(',');
const client = createRegistryClient({ servers, cacheDir: '.herald-cache' });

// On Ctrl-C: stop watching, cancel the registration, release streams, timers and sockets.
let watching: { unsubscribe(): void } | undefined = undefined;
process.once('SIGINT', () => {
  watching?.unsubscribe();
  void client.close().then(() => {
    console.log('deregistered, bye');
  });
});

// 1. Register this process as an instance of "checkout"; heartbeats run until close().
const me = client.register({ service: 'checkout', ip: '10.0.0.5', port: 8080, metadata: { version: '1.0' } });
const registered = await firstValueFrom(me.state$.pipe(filter((s) => s.kind === 'registered')));
console.log(`registered ${registered.instance.instanceId}`);

// 2. Watch "payments": the current instances first, then every change as it is pushed.
watching = client.watch$('payments').subscribe((event) => {
  const { added, modified, removed } = event.diff;
  console.log(
    `payments: ${event.snapshot.hosts.length} instances (${event.initial ? 'initial' : `+${added.length} ~${modified.length} -${removed.length}`})`,
  );
});

// 3. Pick one healthy "payments" instance, weighted at random, from the local cache.
const payment = await client.selectOneHealthyInstance('payments');
console.log(payment === undefined ? 'no payments instance available' : `would call payments at ${payment.ip}:${payment.port}`);
