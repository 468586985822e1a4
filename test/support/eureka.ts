/** Eureka test data: an InstanceInfo as Eureka clients send it. */
type Json = Record<string, unknown>;

/** An InstanceInfo of `app` (VIP `<app>.vip`, port 8080, zone a, dirty at 1000), with overrides. */
export function eurekaInstanceInfo(app: string, id: string, extra: Json = {}): Json {
  return {
    instanceId: id,
    hostName: `${id}.local`,
    app,
    ipAddr: '10.0.0.9',
    status: 'UP',
    port: { $: 8080, '@enabled': 'true' },
    securePort: { $: 8443, '@enabled': 'false' },
    vipAddress: `${app.toLowerCase()}.vip`,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
    metadata: { zone: 'a' },
    lastDirtyTimestamp: '1000',
    ...extra,
  };
}
