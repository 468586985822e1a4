/**
 * A subscriber-memory load process: opens Subscribe streams with the generated grpc-js client, spread
 * over a number of connections, and either keeps reading or stops reading after the first message
 * (so the HTTP/2 stream window fills and the server's writes back up). Its parent may SIGKILL or
 * SIGSTOP it to play an abandoned subscriber. Started by bench/subscriber-memory.ts.
 */
import { credentials, status as Status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { RegistryServiceClient, SubscribeRequest, type SubscribeResponse } from '../../src/gen/herald/v1/registry_service.js';
import { serveCommands } from '../lib/command-loop.js';
import { sleep } from '../lib/wall-clock.js';
import type { LoadCommands, LoadStatus, OpenConfig } from './load-commands.js';

interface Stream {
  readonly call: ClientReadableStream<SubscribeResponse>;
  subscribed: boolean;
  ended: boolean;
}

const clients: RegistryServiceClient[] = [];
const streams: Stream[] = [];
const ended: Record<string, number> = {};
let messages = 0;
let lastHosts = 0;
let firstError: string | undefined;

function status(): LoadStatus {
  let open = 0;
  let subscribed = 0;
  let bufferedMessages = 0;
  for (const s of streams) {
    if (!s.ended) open++;
    if (s.subscribed) subscribed++;
    bufferedMessages += s.call.readableLength;
  }
  return { open, subscribed, messages, bufferedMessages, lastHosts, ended: { ...ended }, firstError };
}

function openOne(config: OpenConfig, i: number): Stream {
  const client = clients[i % clients.length];
  if (client === undefined) throw new Error('no client');
  const service = config.services[i % config.services.length] ?? '';
  const call = client.subscribe(SubscribeRequest.fromPartial({ service }));
  const s: Stream = { call, subscribed: false, ended: false };
  call.on('data', (m: SubscribeResponse) => {
    messages++;
    lastHosts = m.serviceInfo?.hosts.length ?? 0;
    if (!s.subscribed) {
      s.subscribed = true;
      if (config.pause) call.pause();
    }
  });
  call.on('error', (e: ServiceError) => {
    s.ended = true;
    const name: string = Status[e.code];
    ended[name] = (ended[name] ?? 0) + 1;
    if (e.code !== Status.CANCELLED) firstError ??= `${name}: ${e.details}`;
  });
  call.on('status', () => {
    s.ended = true;
  });
  return s;
}

async function open(config: OpenConfig): Promise<LoadStatus & { openMs: number }> {
  const started = performance.now();
  for (let c = clients.length; c < config.connections; c++) {
    // A local subchannel pool per channel: each channel gets its own TCP connection.
    clients.push(new RegistryServiceClient(config.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  }
  const deadline = performance.now() + config.timeoutMs;
  for (let from = 0; from < config.streams; from += config.openBatch) {
    const batch: Stream[] = [];
    for (let i = from; i < Math.min(config.streams, from + config.openBatch); i++) batch.push(openOne(config, i));
    streams.push(...batch);
    while (batch.some((s) => !s.subscribed && !s.ended) && performance.now() < deadline) await sleep(5);
  }
  return { ...status(), openMs: performance.now() - started };
}

async function cancel(timeoutMs: number): Promise<LoadStatus & { cancelMs: number }> {
  const before = status();
  const started = performance.now();
  for (const s of streams) if (!s.ended) s.call.cancel();
  const deadline = performance.now() + timeoutMs;
  while (streams.some((s) => !s.ended) && performance.now() < deadline) await sleep(5);
  // What the streams held when they were cancelled (cancelling empties their buffers).
  const result = { ...status(), bufferedMessages: before.bufferedMessages, cancelMs: performance.now() - started };
  streams.length = 0;
  return result;
}

serveCommands<LoadCommands>(
  {
    open,
    status,
    cancel: ({ timeoutMs }) => cancel(timeoutMs),
    close: () => {
      for (const c of clients) c.close();
      clients.length = 0;
      return undefined;
    },
  },
  {
    beforeExit: () => {
      for (const c of clients) c.close();
    },
  },
);
