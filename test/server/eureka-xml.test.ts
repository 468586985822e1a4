import { describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { eurekaMediaType } from '../../src/server/eureka/eureka-xml.js';
import { startServer } from '../support/server.js';
import { eurekaInstanceInfo, eurekaInstanceXml as instanceXml } from '../support/eureka.js';

async function call(
  server: HeraldServer,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka${path}`, {
    method,
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

const parse = (xml: string): Record<string, unknown> =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    textNodeName: '$',
    parseTagValue: false,
    isArray: (name) => name === 'application' || name === 'instance',
  }).parse(xml) as Record<string, unknown>;

describe('Eureka XML', () => {
  it.each([
    [undefined, 'xml'],
    ['', 'xml'],
    ['*/*', 'xml'],
    ['application/xml', 'xml'],
    ['text/xml', 'xml'],
    ['application/json', 'json'],
    ['application/json, */*', 'json'],
    ['application/xml;q=0.5, application/json', 'json'],
    ['application/json;q=0.5, application/xml', 'xml'],
    ['application/json;q=0.9, */*;q=1', 'xml'],
    ['text/html', undefined],
  ])('Accept %j answers %s', (accept, media) => {
    expect(eurekaMediaType(accept)).toBe(media);
  });

  it('answers XML with no Accept header, as Eureka does, and JSON when asked', async () => {
    const server = await startServer();
    const json = { 'content-type': 'application/json', accept: 'application/json' };
    expect((await call(server, 'POST', '/apps/orders', { body: JSON.stringify({ instance: eurekaInstanceInfo('orders', 'o-1') }), headers: json })).status).toBe(204);
    const r = await call(server, 'GET', '/apps');
    expect([r.status, r.type]).toEqual([200, 'application/xml']);
    expect(r.text).toContain('<port enabled="true">8080</port>');
    expect(r.text).toContain('<dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>');
    const doc = parse(r.text).applications as Record<string, unknown>;
    expect(doc).toMatchObject({
      apps__hashcode: 'UP_1_',
      application: [{ name: 'ORDERS', instance: [{ instanceId: 'o-1', app: 'ORDERS', ipAddr: '10.0.0.9', metadata: { zone: 'a' } }] }],
    });
    expect(Number(doc.versions__delta)).toBeGreaterThan(0);
    for (const path of ['/apps/delta', '/apps/ORDERS', '/apps/ORDERS/o-1', '/instances/o-1', '/vips/orders.vip', '/svips/orders.vip']) {
      const x = await call(server, 'GET', path, { headers: { accept: 'application/xml' } });
      expect([path, x.status, x.type]).toEqual([path, 200, 'application/xml']);
      expect(x.text).toMatch(/<(applications|application|instance)>/);
    }
    expect(parse((await call(server, 'GET', '/apps/ORDERS/o-1')).text)).toMatchObject({ instance: [{ instanceId: 'o-1', leaseInfo: { durationInSecs: '90' } }] });
    const j = await call(server, 'GET', '/apps', { headers: { accept: 'application/json' } });
    expect([j.status, j.type]).toEqual([200, 'application/json; charset=utf-8']);
    expect(JSON.parse(j.text)).toMatchObject({ applications: { application: [{ name: 'ORDERS' }] } });
    expect((await call(server, 'GET', '/apps', { headers: { accept: 'text/html' } })).status).toBe(406);
  });

  it('registers from an XML body and sets status with one, read back in JSON', async () => {
    const server = await startServer();
    for (const type of ['application/xml', 'text/xml']) {
      const id = `x-${type.split('/')[0] ?? ''}`;
      expect((await call(server, 'POST', '/apps/BILLING', { body: instanceXml('BILLING', id), headers: { 'content-type': type } })).status).toBe(204);
      const got = JSON.parse((await call(server, 'GET', `/apps/BILLING/${id}`, { headers: { accept: 'application/json' } })).text) as { instance: Record<string, unknown> };
      expect(got.instance).toMatchObject({
        instanceId: id,
        hostName: `${id}.local`,
        ipAddr: '10.0.0.7',
        port: { $: 8080, '@enabled': 'true' },
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
        leaseInfo: { durationInSecs: 90 },
        metadata: { zone: 'b', 'management.port': '8081' },
      });
    }
    const status = await call(server, 'PUT', '/apps/BILLING/x-application/status?value=OUT_OF_SERVICE', {
      body: instanceXml('BILLING', 'x-application'),
      headers: { 'content-type': 'application/xml' },
    });
    expect(status.status).toBe(200);
    expect(server.registry.getInstance({ service: 'BILLING', instanceId: 'x-application' }).record.overriddenStatus).toBe('OUT_OF_SERVICE');
  });

  it.each([
    ['malformed XML', '<instance><instanceId>x</instance>', /^Malformed XML/],
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY a "b">]><instance/>', /DOCTYPE/],
    ['an empty body', ' ', /Missing instance/],
    ['no hostName', instanceXml('BILLING', 'x-1').replace(/<hostName>.*<\/hostName>/, ''), /^Missing hostname$/],
    ['a mismatched app', instanceXml('OTHER', 'x-1'), /^Mismatched appName, expecting BILLING but was OTHER$/],
    ['no dataCenterInfo', instanceXml('BILLING', 'x-1').replace(/<dataCenterInfo.*<\/dataCenterInfo>/, ''), /^Missing dataCenterInfo$/],
  ])('refuses a registration with %s: 400, nothing stored', async (_what, body, message) => {
    const server = await startServer();
    const r = await call(server, 'POST', '/apps/BILLING', { body, headers: { 'content-type': 'application/xml' } });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(message);
    expect(server.registry.stats().instances).toBe(0);
  });

  it('answers a replicating peer 409 with the server copy as an <instance> in XML, the bare InstanceInfo in JSON', async () => {
    const server = await startServer();
    expect((await call(server, 'POST', '/apps/BILLING', { body: instanceXml('BILLING', 'b-1'), headers: { 'content-type': 'application/xml' } })).status).toBe(204);
    const peer = { 'x-netflix-discovery-replication': 'true' };
    const xml = await call(server, 'PUT', '/apps/BILLING/b-1?lastDirtyTimestamp=500', { headers: peer });
    expect([xml.status, xml.type]).toEqual([409, 'application/xml']);
    expect(parse(xml.text)).toMatchObject({ instance: [{ instanceId: 'b-1', lastDirtyTimestamp: '1000' }] });
    const json = await call(server, 'PUT', '/apps/BILLING/b-1?lastDirtyTimestamp=500', { headers: { ...peer, accept: 'application/json' } });
    expect(json.status).toBe(409);
    expect(JSON.parse(json.text)).toMatchObject({ instanceId: 'b-1', lastDirtyTimestamp: '1000' });
  });

  it('leaves metadata keys that are not XML names out of XML answers only', async () => {
    const server = await startServer();
    const info = eurekaInstanceInfo('orders', 'o-1', { metadata: { zone: 'a', 'bad key': 'x', '1st': 'y' } });
    await call(server, 'POST', '/apps/orders', { body: JSON.stringify({ instance: info }), headers: { 'content-type': 'application/json' } });
    const xml = (await call(server, 'GET', '/apps/ORDERS/o-1')).text;
    expect(xml).toContain('<metadata><zone>a</zone></metadata>');
    const json = JSON.parse((await call(server, 'GET', '/apps/ORDERS/o-1', { headers: { accept: 'application/json' } })).text) as { instance: { metadata: unknown } };
    expect(json.instance.metadata).toEqual({ zone: 'a', 'bad key': 'x', '1st': 'y' });
  });
});
