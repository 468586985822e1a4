/** A grpc.health.v1 client built from the proto that grpc-health-check ships. */
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

type HealthClient = Client & {
  check(req: { service: string }, cb: (e: ServiceError | null, res: { status: string }) => void): void;
};

export function healthCheck(port: number, service = ''): Promise<string> {
  const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true, enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient } } };
  };
  const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.check({ service }, (e, res) => {
      client.close();
      if (e) reject(e);
      else resolve(res.status);
    });
  });
}
