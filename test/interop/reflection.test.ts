import { describe, expect, it } from 'vitest';
import { startServer } from '../support/server.js';
import { generateReflectionStubs, pythonGrpcMissing, runPython } from './python.js';

const missing = pythonGrpcMissing();

interface ReflectionResult {
  protobuf_backend: string;
  services: string[];
  methods: Record<string, string[]>;
  files: string[];
  registered: { instance: { instanceId: string; metadata: Record<string, string>; weight: number } };
  fetched: { serviceInfo: { hosts: { ip: string; metadata: Record<string, string> }[]; checksum: string } };
}

describe.skipIf(missing !== undefined)('server reflection with a non-JS client (Python protobuf, strict like grpcurl)', () => {
  it.each(['v1', 'v1alpha'])('lists services, loads every descriptor and calls methods (%s)', async (version) => {
    const server = await startServer();
    const stubs = generateReflectionStubs();
    const r = await runPython<ReflectionResult>('reflection_client.py', [`127.0.0.1:${server.port}`, stubs, version]);
    expect(r.services).toEqual(expect.arrayContaining(['herald.v1.RegistryService', 'grpc.health.v1.Health', 'envoy.service.discovery.v3.AggregatedDiscoveryService']));
    // The xDS files load as strictly as herald's (Envoy's protos with their validate options).
    expect(r.methods['envoy.service.discovery.v3.AggregatedDiscoveryService']).toEqual(['StreamAggregatedResources', 'DeltaAggregatedResources']);
    expect(r.methods['herald.v1.RegistryService']).toEqual([
      'Register',
      'Renew',
      'Cancel',
      'SetStatus',
      'DeleteStatusOverride',
      'UpdateService',
      'GetInstance',
      'GetService',
      'ListServices',
      'FetchRegistry',
      'FetchDelta',
      'Subscribe',
      'Watch',
      'KeepAlive',
    ]);
    expect(r.files).toEqual(expect.arrayContaining(['herald/v1/model.proto', 'herald/v1/registry_service.proto', 'google/protobuf/wrappers.proto']));
    expect(r.registered.instance).toMatchObject({ instanceId: '10.9.9.9#9090#DEFAULT#DEFAULT_GROUP@@reflected', metadata: { via: 'reflection' }, weight: 2.5 });
    expect(r.fetched.serviceInfo.hosts[0]).toMatchObject({ ip: '10.9.9.9', metadata: { via: 'reflection' } });
  });
});

if (missing !== undefined) {
  describe('server reflection with a non-JS client', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
