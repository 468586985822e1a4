/**
 * One server as the SDK talks to it, in the SDK's own terms (model.ts): the calls the client makes
 * and what they answer. `grpcTransport` implements it over herald's gRPC API (the wire types stop
 * in its codec); tests implement it with doubles. Failures reject with an error carrying the gRPC
 * status `code` and `details` (call-errors.ts classifies them), or none when no server was reached.
 */
import { map, type Observable } from 'rxjs';
import { DeleteStatusOverrideRequest, GetServiceRequest, SetStatusRequest, UpdateServiceRequest } from '../gen/herald/v1/registry_service.js';
import { statusToWire } from '../common/wire-status.js';
import { instanceFromWire, registerRequest, snapshotFromWire, summaryFromWire } from './codec.js';
import type { InstanceSpec, InstanceStatus, ServiceInstance, ServiceSettings, ServiceSnapshot, ServiceSummary } from './model.js';
import { RegistryTransport, type RegistryTransportOptions } from './registry-transport.js';

/** Names an instance. */
export interface InstanceCall {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  readonly instanceId: string;
}

/** Names a service, as a client follows it. */
export interface ServiceCall {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  /** Only these clusters; empty = all. */
  readonly clusters: readonly string[];
  /** When set, this client (its address, this UDP port) becomes a UDP push target of the service. */
  readonly udpPort?: number;
}

export interface Transport {
  readonly address: string;
  /** Registers `spec` with the registrant's dirty timestamp; answers the instance as stored and when its lease expires. */
  register(spec: InstanceSpec, lastDirtyTimestamp: number): Promise<{ instance: ServiceInstance; leaseExpiresAt: number }>;
  /** Renews a lease (over gRPC, on the server's shared KeepAlive stream); NOT_FOUND means "register again". */
  renew(call: InstanceCall & { readonly lastDirtyTimestamp: number }): Promise<{ leaseExpiresAt: number; renewalIntervalMs: number }>;
  cancel(call: InstanceCall): Promise<void>;
  /** Overrides an instance's status (SetStatus); answers the instance after the change. */
  setStatus(call: InstanceCall & { readonly status: InstanceStatus }): Promise<ServiceInstance>;
  /** Deletes the override (DeleteStatusOverride); `status` is the one the instance takes now (default: as it registered). */
  deleteStatusOverride(call: InstanceCall & { readonly status?: InstanceStatus }): Promise<ServiceInstance>;
  /** Replaces a service's settings (UpdateService; the namespace and group are filled in); answers the service after the change. */
  updateService(call: ServiceSettings & { readonly namespace: string; readonly group: string }): Promise<ServiceSummary>;
  /** Pulls one service. */
  getService(call: ServiceCall): Promise<ServiceSnapshot>;
  /**
   * A cold stream of the service: its current state, then one snapshot per change; errors when the
   * stream breaks. Over gRPC every followed service shares one Watch stream of deltas per server.
   */
  subscribe(call: ServiceCall): Observable<ServiceSnapshot>;
  /** Closes the connection; pending calls fail. Idempotent. */
  close(): void;
}

/** Builds the transport for a server address (the client's `transportFactory` option). */
export type TransportFactory = (address: string) => Transport;

/** A Transport over herald's gRPC API (herald.v1.RegistryService). */
export function grpcTransport(address: string, options: RegistryTransportOptions = {}): Transport {
  const stub = new RegistryTransport(address, options);
  return {
    address,
    register: async (spec, lastDirtyTimestamp) => {
      const res = await stub.register(registerRequest(spec, lastDirtyTimestamp));
      const wire = res.instance;
      if (wire === undefined) throw new Error(`${address} answered Register without the instance`);
      const instance = instanceFromWire(wire);
      return { instance, leaseExpiresAt: (wire.lease?.lastRenewalTimestamp ?? 0) + instance.leaseDurationMs };
    },
    renew: async (call) => {
      const res = await stub.keepAlive({ ...call });
      return { leaseExpiresAt: res.leaseExpiresAt, renewalIntervalMs: res.renewalIntervalMs };
    },
    cancel: async (call) => {
      await stub.cancel({ ...call });
    },
    setStatus: async (call) => {
      const res = await stub.setStatus(SetStatusRequest.fromPartial({ ...call, status: statusToWire(call.status) }));
      if (res.instance === undefined) throw new Error(`${address} answered SetStatus without the instance`);
      return instanceFromWire(res.instance);
    },
    deleteStatusOverride: async (call) => {
      const res = await stub.deleteStatusOverride(DeleteStatusOverrideRequest.fromPartial({ ...call, status: statusToWire(call.status) }));
      if (res.instance === undefined) throw new Error(`${address} answered DeleteStatusOverride without the instance`);
      return instanceFromWire(res.instance);
    },
    updateService: async (call) => {
      const res = await stub.updateService(
        UpdateServiceRequest.fromPartial({
          namespace: call.namespace,
          group: call.group,
          service: call.service,
          protectThreshold: call.protectThreshold ?? 0,
          metadata: { ...call.metadata },
        }),
      );
      if (res.service === undefined) throw new Error(`${address} answered UpdateService without the service`);
      return summaryFromWire(res.service);
    },
    getService: async (call) => {
      const res = await stub.getService(GetServiceRequest.fromPartial({ ...call, clusters: [...call.clusters] }));
      if (res.serviceInfo === undefined) throw new Error(`${address} answered GetService without the service`);
      return snapshotFromWire(res.serviceInfo);
    },
    subscribe: (call) =>
      stub.follow({ namespace: call.namespace, group: call.group, service: call.service, clusters: [...call.clusters], healthyOnly: false }).pipe(map(snapshotFromWire)),
    close: () => {
      stub.close();
    },
  };
}
