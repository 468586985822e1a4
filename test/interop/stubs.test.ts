import { describe, expect, it } from 'vitest';
import { startServer } from '../support/server.js';
import { generateHeraldStubs, pythonGrpcMissing, runPython } from './python.js';

const missing = pythonGrpcMissing();

type Info = { service_info: { revision?: string; hosts?: { instance_id: string; weight?: number; metadata: Record<string, string>; cluster: string }[] } };

interface StubResult {
  initial: Info;
  registered: { instance: { instance_id: string; weight?: number; status: string } };
  pushed: Info;
  renewed: { lease_expires_at: string; renewal_interval_ms: string };
  bad: { code: string; details: string } | null;
  removed: Info;
}

describe.skipIf(missing !== undefined)('generated Python stubs (Debian python3-grpc-tools)', () => {
  it('register, read the Subscribe push, renew, get a clear error, cancel and read the removal', async () => {
    const server = await startServer({ mergeWindowMs: 1 });
    const r = await runPython<StubResult>('stub_client.py', [`127.0.0.1:${server.port}`, generateHeraldStubs()]);
    expect(r.initial.service_info.hosts ?? []).toEqual([]);
    // weight 0 was sent explicitly through the wrapper and must not become the default 1.
    expect(r.registered.instance).toMatchObject({ instance_id: '10.1.2.3#8443#east#DEFAULT_GROUP@@py-orders', status: 'INSTANCE_STATUS_UP' });
    expect(r.registered.instance.weight ?? 0).toBe(0);
    expect(r.pushed.service_info.hosts).toEqual([
      expect.objectContaining({ instance_id: '10.1.2.3#8443#east#DEFAULT_GROUP@@py-orders', metadata: { lang: 'python' }, cluster: 'east' }),
    ]);
    expect(Number(r.renewed.renewal_interval_ms)).toBe(30_000);
    expect(r.bad).toEqual({ code: 'INVALID_ARGUMENT', details: 'instance.ip is required' });
    expect(r.removed.service_info.hosts ?? []).toEqual([]);
    expect(BigInt(r.removed.service_info.revision ?? '0')).toBeGreaterThan(BigInt(r.pushed.service_info.revision ?? '0'));
  });
});

if (missing !== undefined) {
  describe('generated Python stubs', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
