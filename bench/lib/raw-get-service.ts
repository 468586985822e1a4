/**
 * GetService without decoding the answer: the request is encoded as usual, the response is kept
 * as bytes. It takes the client's protobuf decoding out of a measurement (so the numbers show the
 * server and the transport); the regular RegistryTransport shows what an application sees.
 */
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { RegistryServiceService, type GetServiceRequest } from '../../src/gen/herald/v1/registry_service.js';

const method = RegistryServiceService.getService;

export class RawGetServiceClient {
  private readonly client: Client;

  constructor(address: string, separateConnection = true) {
    this.client = new Client(address, credentials.createInsecure(), separateConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {});
  }

  /** Resolves with the response's size in bytes. */
  getService(req: GetServiceRequest, deadlineMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        (bytes: Buffer): Buffer => bytes,
        req,
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, res) => {
          if (err !== null) reject(err);
          else if (res === undefined) reject(new Error('empty response'));
          else resolve(res.length);
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
