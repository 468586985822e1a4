/**
 * Request decoding that never fails with INTERNAL. ts-proto's decoders (int64 as `number`) throw on
 * valid int64 values beyond 2^53, which grpc-js would answer with INTERNAL "Error deserializing
 * request". Here a request that cannot be decoded becomes an `UndecodableRequest` naming the field
 * as the contract spells it (found by decoding again with the descriptors buf built, where int64s
 * are bigints); every handler of a service added with `addGuardedService` answers it with
 * INVALID_ARGUMENT before it runs. Nothing is changed by such a request.
 */
import {
  status as GrpcStatus,
  type Server,
  type ServiceDefinition,
  type ServerWritableStream,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { createFileRegistry, fromBinary, type DescMessage, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { DESCRIPTOR_SET_BASE64 } from '../gen/descriptor-set.js';
import { grpcError } from './grpc-errors.js';

/** A request that could not be decoded; `message` says which field and why. */
export class UndecodableRequest {
  constructor(readonly message: string) {}
}

let files: FileRegistry | undefined;

function descriptors(): FileRegistry {
  files ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(DESCRIPTOR_SET_BASE64, 'base64')));
  return files;
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const MIN = BigInt(Number.MIN_SAFE_INTEGER);

function outOfRange(value: unknown): boolean {
  return typeof value === 'bigint' && (value > MAX || value < MIN);
}

/** The first 64-bit integer field of `msg` beyond what herald takes, as `path`, with its value. */
function findOutOfRange(msg: ReflectMessage, prefix: string): { path: string; value: bigint } | undefined {
  for (const field of msg.fields) {
    if (!msg.isSet(field)) continue;
    const path = `${prefix}${field.name}`;
    switch (field.fieldKind) {
      case 'scalar': {
        const v = msg.get(field);
        if (outOfRange(v)) return { path, value: v as bigint };
        break;
      }
      case 'message': {
        const found = findOutOfRange(msg.get(field), `${path}.`);
        if (found !== undefined) return found;
        break;
      }
      case 'list': {
        let i = 0;
        for (const item of msg.get(field)) {
          if (outOfRange(item)) return { path: `${path}[${i}]`, value: item as bigint };
          if (field.listKind === 'message') {
            const found = findOutOfRange(item as ReflectMessage, `${path}[${i}].`);
            if (found !== undefined) return found;
          }
          i++;
        }
        break;
      }
      case 'map': {
        for (const [k, item] of msg.get(field)) {
          if (outOfRange(item)) return { path: `${path}[${JSON.stringify(String(k))}]`, value: item as bigint };
          if (field.mapKind === 'message') {
            const found = findOutOfRange(item as ReflectMessage, `${path}[${JSON.stringify(String(k))}].`);
            if (found !== undefined) return found;
          }
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** Why `bytes` cannot be a `type` herald can take, naming the field. */
export function describeUndecodable(type: DescMessage, bytes: Uint8Array): string {
  let msg;
  try {
    msg = reflect(type, fromBinary(type, bytes));
  } catch (e) {
    return `the request is not a valid ${type.typeName} message (${e instanceof Error ? e.message : String(e)})`;
  }
  const found = findOutOfRange(msg, '');
  if (found === undefined) return `the request is not a valid ${type.typeName} message`;
  return `${found.path} is ${found.value}, beyond the range herald accepts (at most ${Number.MAX_SAFE_INTEGER} in magnitude)`;
}

/** The request type of a method path such as `/herald.v1.RegistryService/Register`. */
function requestType(path: string): DescMessage | undefined {
  const [, service = '', method = ''] = path.split('/');
  return descriptors().getService(service)?.methods.find((m) => m.name === method)?.input;
}

type MethodDefinitionLike = ServiceDefinition[string];

function guardDefinition<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, MethodDefinitionLike> = {};
  for (const [name, m] of Object.entries(definition)) {
    const decode = m.requestDeserialize;
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch {
          const type = requestType(m.path);
          return new UndecodableRequest(type === undefined ? 'the request cannot be decoded' : describeUndecodable(type, bytes));
        }
      },
    };
  }
  return out as D;
}

/** `NOT_FOUND` for 5; `UNKNOWN` for a number that is no status. */
function statusName(code: number): string {
  const name: unknown = (GrpcStatus as Record<number, unknown>)[code];
  return typeof name === 'string' ? name : 'UNKNOWN';
}

function timed(method: string, handler: UntypedHandleCall, timer: UnaryTimer): UntypedHandleCall {
  return ((call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const start = performance.now();
    (handler as (c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void)(call, (error, value, trailer, flags) => {
      const code = error === null ? GrpcStatus.OK : (error.code ?? GrpcStatus.UNKNOWN);
      timer(method, statusName(code), (performance.now() - start) / 1000);
      callback(error, value, trailer, flags);
    });
  }) as UntypedHandleCall;
}

function guardHandler(m: MethodDefinitionLike, handler: UntypedHandleCall): UntypedHandleCall {
  if (m.requestStream) return handler; // client streams get each message as it comes: their handlers answer UndecodableRequest
  if (m.responseStream) {
    return ((call: ServerWritableStream<unknown, unknown>) => {
      if (call.request instanceof UndecodableRequest) {
        call.emit('error', grpcError(GrpcStatus.INVALID_ARGUMENT, call.request.message));
        return;
      }
      (handler as (c: ServerWritableStream<unknown, unknown>) => void)(call);
    }) as UntypedHandleCall;
  }
  return ((call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    if (call.request instanceof UndecodableRequest) {
      callback(grpcError(GrpcStatus.INVALID_ARGUMENT, call.request.message));
      return;
    }
    (handler as (c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void)(call, callback);
  }) as UntypedHandleCall;
}

/**
 * Told of every finished unary call: its method (`package.Service/Method`), its status code's name
 * (`OK`, `NOT_FOUND`…) and how long it took, in seconds. Runs on every call: must be cheap.
 */
export type UnaryTimer = (method: string, code: string, seconds: number) => void;

/**
 * Adds a service whose requests that cannot be decoded are answered INVALID_ARGUMENT, naming the
 * field; with `timer`, each unary call is timed from the handler's start to its answer.
 */
export function addGuardedService(server: Server, definition: ServiceDefinition, handlers: UntypedServiceImplementation, timer?: UnaryTimer): void {
  const guarded: UntypedServiceImplementation = {};
  for (const [name, m] of Object.entries(definition)) {
    const h = handlers[name];
    if (h !== undefined) guarded[name] = guardHandler(m, timer === undefined || m.requestStream || m.responseStream ? h : timed(m.path.slice(1), h, timer));
  }
  server.addService(guardDefinition(definition), guarded);
}
