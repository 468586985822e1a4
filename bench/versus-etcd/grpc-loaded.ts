/**
 * Ordinary grpc-js clients, as an application writes them without generated code: the .proto files
 * are loaded at run time by @grpc/proto-loader and every message is decoded in full into a plain
 * object (LOAD_OPTIONS: camelCase fields, 64-bit integers as strings, enums by name, defaults
 * filled in, oneofs named). Calls go through grpc.Client's make*Request with the loaded methods'
 * serializers, which is what the client constructors of grpc.loadPackageDefinition do per call;
 * only the result type is asserted (one unchecked step, `method`). Each channel has its own
 * subchannel pool, so each client gets its own TCP connection.
 */
import { credentials, Client, Metadata, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

export const LOAD_OPTIONS: Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

/** One RPC: its path and the loaded serializers. */
export interface Method<Req, Res> {
  readonly path: string;
  readonly serialize: (request: Req) => Buffer;
  readonly deserialize: (bytes: Buffer) => Res;
}

/** The .proto file `file` (imports resolved under `includeDirs`), loaded once. */
export class LoadedProto {
  private readonly definition: PackageDefinition;

  constructor(file: string, includeDirs: readonly string[]) {
    this.definition = loadSync(file, { ...LOAD_OPTIONS, includeDirs: [...includeDirs] });
  }

  /** Method `name` of `service` (fully qualified, e.g. `etcdserverpb.KV`); Res is what its decoded response looks like. */
  method<Req extends object, Res>(service: string, name: string): Method<Req, Res> {
    const s = this.definition[service];
    const m = s === undefined || 'format' in s ? undefined : s[name];
    if (m === undefined) throw new Error(`${service}.${name} is not in the loaded .proto`);
    // The one unchecked step: proto-loader decodes to a plain object of the message's shape.
    return { path: m.path, serialize: m.requestSerialize, deserialize: m.responseDeserialize as (bytes: Buffer) => Res };
  }
}

/** A channel of its own (own subchannel pool: its own TCP connection), plain text. */
export function openChannel(address: string): Client {
  return new Client(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

const DEADLINE_MS = 30_000;

export function unary<Req extends object, Res>(client: Client, m: Method<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(m.path, m.serialize, m.deserialize, request, new Metadata(), { deadline: Date.now() + DEADLINE_MS }, (err: ServiceError | null, res?: Res) => {
      if (err !== null) reject(err);
      else if (res === undefined) reject(new Error(`${m.path}: no response`));
      else resolve(res);
    });
  });
}

export function serverStream<Req extends object, Res>(client: Client, m: Method<Req, Res>, request: Req): ClientReadableStream<Res> {
  return client.makeServerStreamRequest(m.path, m.serialize, m.deserialize, request);
}

export function bidiStream<Req extends object, Res>(client: Client, m: Method<Req, Res>): ClientDuplexStream<Req, Res> {
  return client.makeBidiStreamRequest(m.path, m.serialize, m.deserialize);
}

/** The gRPC status code of an error (e.g. 12 UNIMPLEMENTED), if it carries one. */
export function grpcCode(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number' ? e.code : undefined;
}
