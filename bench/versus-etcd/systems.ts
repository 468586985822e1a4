/**
 * herald and etcd behind one interface, so each row's phase is written once and run against both:
 * how to start a fresh server, a client of the unary operations (register one ephemeral instance,
 * renew it, read a service in full), the push driver's writer and the subscriber kind.
 */
import { HeraldServeProcess, type ServeMemorySample } from '../lib/herald-serve-process.js';
import { settleHerald, settleRss, type Settled } from '../lib/memory-settle.js';
import type { RunNode } from '../lib/push/change-run.js';
import { TAGGED_INDEX, tagMetadata, type ChangeWriter } from '../lib/push/changes.js';
import { EtcdClient } from './etcd-client.js';
import { EtcdProcess } from './etcd-process.js';
import { etcdWriter, EtcdServiceView, registerEtcdInstance } from './etcd-registry.js';
import { HeraldClient, type HeraldView, type RenewMode } from './herald-client.js';
import { servicePrefix } from './instances.js';
import type { HeraldPush } from './subscribers.js';

export type SystemName = 'herald' | 'etcd';

/** What renews one registered instance: herald's instance id, etcd's lease ID. */
export interface Lease {
  readonly service: string;
  readonly id: string;
}

export interface RegistryClient {
  /** Registers instance `index` of `service` as an ephemeral instance with a lease of its own. */
  register(service: string, index: number): Promise<Lease>;
  renew(lease: Lease): Promise<void>;
  /** Reads every instance of `service`, decoded; resolves with how many. */
  getService(service: string): Promise<number>;
  close(): void;
}

/** `list[i % length]`: the client (or lease) of operation `i`. */
export function at<T>(list: readonly T[], i: number): T {
  const item = list[i % list.length];
  if (item === undefined) throw new Error('empty list');
  return item;
}

export interface ServerMemory {
  readonly rssBytes: number;
  /** herald only (V8 heap in use); NaN for etcd. */
  readonly heapUsedBytes: number;
  /** etcd only (/proc: anonymous and file-backed resident memory); NaN for herald. */
  readonly anonBytes: number;
  readonly fileBytes: number;
}

export interface SystemServer extends RunNode {
  readonly pid: number | undefined;
  /** Memory as it is right now (no forced collection). */
  memory(): Promise<ServerMemory>;
  /**
   * Memory once it has settled by itself (bench/lib/memory-settle.ts: herald after V8's memory
   * reducer has run and the heap is steady; etcd once its RSS is steady), waiting at most `maxMs`.
   */
  settledMemory(maxMs: number): Promise<Settled<ServerMemory>>;
}

export interface System {
  readonly name: SystemName;
  start(): Promise<SystemServer>;
  client(address: string): RegistryClient;
  writer(address: string): ChangeWriter;
}

export interface HeraldOptions {
  readonly push: HeraldPush;
  readonly renew: RenewMode;
  readonly view: HeraldView;
  /** `herald serve` flags beyond --host, --port and --http-port. */
  readonly serveArgs: readonly string[];
  /** node --cpu-prof into this directory. */
  readonly profileDir: string | undefined;
}

/** The push driver on herald: registers the service's instances, then re-registers the tagged one. */
function heraldWriter(client: HeraldClient): ChangeWriter {
  return {
    prepare: async (service, hosts) => {
      await client.register(service, TAGGED_INDEX, tagMetadata({ seq: 0, issuedAtMs: 0 }));
      await Promise.all(Array.from({ length: hosts - 1 }, (_, i) => client.register(service, TAGGED_INDEX + 1 + i)));
    },
    issue: async (service, tag) => {
      await client.register(service, TAGGED_INDEX, tagMetadata(tag));
    },
    close: () => {
      client.close();
    },
  };
}

function heraldMemory(m: ServeMemorySample): ServerMemory {
  return { rssBytes: m.rssBytes, heapUsedBytes: m.heapUsedBytes, anonBytes: Number.NaN, fileBytes: Number.NaN };
}

function etcdMemory(p: EtcdProcess): ServerMemory {
  return { ...p.memory(), heapUsedBytes: Number.NaN };
}

export function heraldSystem(o: HeraldOptions): System {
  return {
    name: 'herald',
    start: async () => {
      const p = await HeraldServeProcess.start({ args: o.serveArgs, ...(o.profileDir === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] }) });
      return {
        address: p.address,
        pid: p.pid,
        usage: () => p.usage(),
        stop: () => p.stop(),
        memory: async () => heraldMemory(await p.memory(0, { resident: false })),
        settledMemory: async (maxMs) => {
          const s = await settleHerald(p, await p.memory(0, { resident: false }), maxMs);
          return { ...s, sample: heraldMemory(s.sample) };
        },
      };
    },
    client: (address) => {
      const c = new HeraldClient(address, o.renew, o.view);
      return {
        register: async (service, index) => ({ service, id: (await c.register(service, index)).instanceId }),
        renew: (lease) => c.renew(lease.service, lease.id),
        getService: async (service) => (await c.getService(service)).hosts.length,
        close: () => {
          c.close();
        },
      };
    },
    writer: (address) => heraldWriter(new HeraldClient(address)),
  };
}

export const etcdSystem: System = {
  name: 'etcd',
  start: async () => {
    const p = await EtcdProcess.start();
    return {
      address: p.address,
      pid: p.pid,
      usage: () => p.usage(),
      stop: () => p.stop(),
      memory: () => Promise.resolve(etcdMemory(p)),
      settledMemory: (maxMs) => settleRss(() => Promise.resolve(etcdMemory(p)), maxMs),
    };
  },
  client: (address) => {
    const c = new EtcdClient(address);
    return {
      register: async (service, index) => ({ service, id: await registerEtcdInstance(c, service, index) }),
      renew: (lease) => c.keepAlive(lease.id),
      getService: async (service) => {
        const view = new EtcdServiceView();
        view.load((await c.range(servicePrefix(service))).kvs);
        return view.size;
      },
      close: () => {
        c.close();
      },
    };
  },
  writer: (address) => etcdWriter(new EtcdClient(address)),
};
