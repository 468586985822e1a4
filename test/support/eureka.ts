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

/** An InstanceInfo as a Java Eureka client writes it in XML (XStream): port 8080, zone b, VIP the app's name lower-case, `extra` elements appended. */
export function eurekaInstanceXml(app: string, id: string, extra = '', ip = '10.0.0.7'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<instance>
  <instanceId>${id}</instanceId>
  <hostName>${id}.local</hostName>
  <app>${app}</app>
  <ipAddr>${ip}</ipAddr>
  <status>UP</status>
  <overriddenstatus>UNKNOWN</overriddenstatus>
  <port enabled="true">8080</port>
  <securePort enabled="false">443</securePort>
  <countryId>1</countryId>
  <dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>
  <leaseInfo><renewalIntervalInSecs>30</renewalIntervalInSecs><durationInSecs>90</durationInSecs></leaseInfo>
  <metadata><zone>b</zone><management.port>8081</management.port></metadata>
  <vipAddress>${app.toLowerCase()}</vipAddress>
  <lastDirtyTimestamp>1000</lastDirtyTimestamp>
  ${extra}
</instance>`;
}
