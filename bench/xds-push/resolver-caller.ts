/**
 * xds-push's herald:/// process: grpc-js with herald's own resolver registered
 * (registerHeraldResolver, src/client/grpc-resolver.ts: the SDK's Watch stream to herald and the
 * herald_weighted_round_robin policy, no xDS client), dials herald:///<service> with a plain
 * grpc-js Client and calls the echo method at a fixed rate (call-loop.ts), like the xDS client.
 */
import * as grpc from '@grpc/grpc-js';
import { registerHeraldResolver } from '../../src/client/grpc-resolver.js';
import { serveCaller } from './call-loop.js';

serveCaller((config) => {
  registerHeraldResolver({ servers: config.servers, grpc });
  return new grpc.Client(config.target, grpc.credentials.createInsecure());
});
