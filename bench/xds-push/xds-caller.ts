/**
 * xds-push's xDS client process: grpc-js with @grpc/grpc-js-xds registered, bootstrapped from the
 * file GRPC_XDS_BOOTSTRAP names (read once per process, hence a process of its own), dials
 * xds:///<service> and calls the echo method at a fixed rate (call-loop.ts).
 */
import { Client, credentials } from '@grpc/grpc-js';
import { register as registerXdsResolver } from '@grpc/grpc-js-xds';
import { serveCaller } from './call-loop.js';

serveCaller((config) => {
  registerXdsResolver();
  return new Client(config.target, credentials.createInsecure());
});
