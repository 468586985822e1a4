/** A grpc.reflection.v1 client built from the proto that @grpc/reflection ships: lists a server's services. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
}

type ReflectionClient = {
  serverReflectionInfo(): ClientDuplexStream<{ listServices: string }, ReflectionResponse>;
  close(): void;
};

/** The service names a server's reflection lists (no credentials sent). */
export function reflectedServices(port: number): Promise<string[]> {
  const root = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto');
  const pkg = loadPackageDefinition(loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [root] })) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => ReflectionClient } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo();
    call.on('data', (r: ReflectionResponse) => {
      resolve(r.listServicesResponse?.service.map((s) => s.name) ?? []);
      call.end();
    });
    call.on('error', reject);
    call.on('close', () => {
      client.close();
    });
    call.write({ listServices: '' });
  });
}
