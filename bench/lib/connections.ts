/**
 * A RegistryTransport on its own TCP connection. grpc-js shares one connection between channels
 * with equal target and options; a local subchannel pool per channel gives each its own.
 */
import { RegistryTransport } from '../../src/client/registry-transport.js';

export function separateTransport(address: string, deadlineMs = 30_000): RegistryTransport {
  return new RegistryTransport(address, { deadlineMs, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
}
