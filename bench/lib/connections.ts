/**
 * Clients on separate TCP connections. grpc-js shares one connection between channels with equal
 * target and options; a local subchannel pool per channel gives each its own.
 */
import { RegistryTransport } from '../../src/client/registry-transport.js';

export function separateTransport(address: string, deadlineMs = 30_000): RegistryTransport {
  return new RegistryTransport(address, { deadlineMs, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
}

export function separateTransports(address: string, count: number, deadlineMs?: number): RegistryTransport[] {
  return Array.from({ length: count }, () => separateTransport(address, deadlineMs));
}

export function closeAll(transports: readonly RegistryTransport[]): void {
  for (const t of transports) t.close();
}
