/**
 * A node's part in an AP cluster (Eureka's peers, Nacos's Distro): every client-originated write is
 * queued for each other peer in its batching dispatcher (never replicated again by the receiver);
 * a conflict answer is adopted and a NOT_FOUND answer is followed by the registration; a starting
 * node syncs from a peer; a periodic verify repairs what replication missed. Losing a peer never
 * blocks or slows local writes. Peers are herald nodes (gRPC) or Eureka servers (Eureka's REST
 * batches, no verify).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Registry, WriteEvent } from '../core/registry.js';
import { RegistryError } from '../core/errors.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';
import { BatchingDispatcher, type DispatcherOptions, type DispatcherStats } from './batching-dispatcher.js';
import { verifyWithPeer, type VerifyTarget } from './anti-entropy.js';
import { otherEurekaPeers, otherPeers, withoutCredentials } from './peer-addresses.js';
import type { PeerAnswer, PeerLink, ReplicationTask, SettingsTask } from './peer-link.js';
import { syncFromPeers, type SyncReport, type SyncTarget } from './startup-sync.js';
import { taskKey } from './replication-tasks.js';

/** The part of the registry the cluster uses. */
export type ClusterRegistry = VerifyTarget & SyncTarget & Pick<Registry, 'onWrite' | 'onSettingsChanged' | 'getInstance'>;

export interface ClusterConfig {
  /** Every node of the cluster (host:port), this one included or not. */
  readonly peers: readonly string[];
  /** Eureka servers to replicate to over Eureka's REST API (service URLs); default none. */
  readonly eurekaPeers?: readonly string[];
  /** This node's id; default a random UUID. */
  readonly nodeId?: string;
  readonly dispatcher: DispatcherOptions;
  /** How long a starting node waits for a peer to sync from. */
  readonly syncTimeoutMs: number;
  /** How often each peer's checksums are compared (anti-entropy). */
  readonly verifyIntervalMs: number;
}

/** Builds the links to peers (the transports live in src/server; tests wrap them to inject faults). */
export interface PeerLinks {
  /** A herald node at `host:port`. */
  herald(address: string): PeerLink;
  /** A Eureka server at its service URL. */
  eureka(url: string): PeerLink;
}

export interface ClusterDeps {
  readonly registry: ClusterRegistry;
  readonly config: ClusterConfig;
  readonly links: PeerLinks;
  /** The node's own gRPC port and bind host (to recognise itself in the peer list). */
  readonly ownPort: number;
  readonly boundHost: string;
  /** The node's own HTTP port (to recognise itself among the Eureka peers); undefined = none. */
  readonly ownHttpPort?: number | undefined;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
}

export interface PeerView extends DispatcherStats {
  readonly address: string;
  readonly nodeId: string;
}

interface Peer {
  readonly address: string;
  readonly link: PeerLink;
  readonly dispatcher: BatchingDispatcher<ReplicationTask>;
  nodeId: string;
  self: boolean;
}

export class Cluster {
  readonly nodeId: string;
  private readonly peers: Peer[];
  private stopWrites: (() => void) | undefined;
  private stopSettings: (() => void) | undefined;
  private verifyTimer: unknown;
  private verifying = false;
  /** Anti-entropy passes completed against a peer (tests and status). */
  verifyRuns = 0;
  private syncedFlag = false;
  private closed = false;

  constructor(private readonly deps: ClusterDeps) {
    const { config, logger } = deps;
    this.nodeId = config.nodeId ?? randomUUID();
    const { self, others } = otherPeers(config.peers, deps.ownPort, deps.boundHost);
    if (self.length > 0) logger.info({ self }, 'skipping this node in the peer list');
    this.peers = others.map((address) => this.makePeer(address, deps.links.herald(address)));
    const eureka = otherEurekaPeers(config.eurekaPeers ?? [], deps.ownHttpPort, deps.boundHost);
    if (eureka.self.length > 0) logger.info({ self: eureka.self.map(withoutCredentials) }, 'skipping this node in the Eureka peer list');
    for (const url of eureka.others) {
      // The link keeps the URL's credentials; status and logs show it without them.
      const link = deps.links.eureka(url);
      this.peers.push(this.makePeer(link.address, link));
    }
  }

  private makePeer(address: string, link: PeerLink): Peer {
    const { logger } = this.deps;
    const peer: Peer = {
      address,
      link,
      nodeId: '',
      self: false,
      dispatcher: new BatchingDispatcher<ReplicationTask>({
        clock: this.deps.clock,
        timers: this.deps.timers,
        logger,
        options: this.deps.config.dispatcher,
        send: (batch) => this.sendBatch(peer, batch),
        onStateChange: (state, error) => {
          const s = peer.dispatcher.stats();
          if (state === 'down') logger.warn({ peer: address, error, queueDepth: s.queueDepth, failures: s.failures }, 'peer unreachable; replication queued');
          else logger.info({ peer: address, queueDepth: s.queueDepth, lastSuccessAt: s.lastSuccessAt }, 'peer reachable');
        },
      }),
    };
    return peer;
  }

  /** Starts replicating writes and the anti-entropy loop. */
  start(): void {
    if (this.peers.length === 0) return; // standalone: nothing to replicate or verify
    this.stopWrites = this.deps.registry.onWrite((e) => {
      this.onWrite(e);
    });
    this.stopSettings = this.deps.registry.onSettingsChanged((c) => {
      if (c.replication) return; // never replicate a replication
      const ref = { namespace: c.namespace, group: c.group, service: c.service, instanceId: '' };
      const task: SettingsTask = {
        kind: 'service',
        ref,
        settings: { namespace: c.namespace, group: c.group, service: c.service, protectThreshold: c.protectThreshold, metadata: c.metadata, version: c.version },
        replication: false,
      };
      const key = taskKey(task.kind, ref);
      for (const p of this.peers) if (!p.self) p.dispatcher.offer(key, task);
    });
    this.scheduleVerify();
  }

  /** Pulls the registry from the first peer that answers, within the sync timeout. */
  async startupSync(): Promise<SyncReport> {
    const links = this.activePeers().map((p) => p.link);
    const report =
      links.length === 0
        ? { peer: undefined, instances: 0, services: 0, tombstones: 0 }
        : await syncFromPeers(this.deps.registry, links, this.nodeId, this.deps.config.syncTimeoutMs, this.deps.clock, this.deps.logger);
    this.syncedFlag = true;
    for (const p of this.activePeers()) {
      if (p.address === report.peer) p.dispatcher.observed(true);
      else if (report.peer === undefined) p.dispatcher.observed(false, 'not reachable during the start-up sync');
    }
    if (report.peer === undefined) {
      if (links.length === 0) this.deps.logger.debug({}, 'no peers configured: standalone');
      else this.deps.logger.info({ peers: this.peers.map((p) => p.address) }, 'no peer reachable: starting alone');
    } else {
      this.deps.logger.info({ peer: report.peer, instances: report.instances, services: report.services, tombstones: report.tombstones }, 'synced from peer');
    }
    return report;
  }

  /** True once the start-up sync is over. */
  get synced(): boolean {
    return this.syncedFlag;
  }

  /** Each peer's replication state. */
  status(): PeerView[] {
    return this.activePeers().map((p) => ({ address: p.address, nodeId: p.nodeId, ...p.dispatcher.stats() }));
  }

  /**
   * A peer called this node (any PeerService call carries its node id): it is reachable again, so
   * a replication batch to it waiting out its back-off goes now.
   */
  peerContact(nodeId: string): void {
    if (nodeId === '') return;
    for (const p of this.peers) if (p.nodeId === nodeId) p.dispatcher.retryNow();
  }

  /** Runs one anti-entropy pass against every peer now; resolves when done. */
  async verifyNow(): Promise<void> {
    if (this.verifying) return;
    this.verifying = true;
    try {
      for (const p of this.activePeers()) {
        if (p.link.antiEntropy === false) continue;
        try {
          const r = await verifyWithPeer(this.deps.registry, p.link, this.nodeId, this.deps.logger);
          p.dispatcher.observed(true);
          this.verifyRuns++;
          if (r.adopted + r.removed + r.settings > 0) this.deps.logger.info({ peer: p.address, ...r }, 'anti-entropy repaired differences');
          else this.deps.logger.debug({ peer: p.address, ...r }, 'anti-entropy: nothing to repair');
        } catch (e) {
          const error = e instanceof Error ? e.message : String(e);
          p.dispatcher.observed(false, `anti-entropy: ${error}`);
          this.deps.logger.debug({ peer: p.address, error }, 'anti-entropy: peer did not answer');
        }
      }
    } finally {
      this.verifying = false;
    }
  }

  /** Stops everything and closes the links. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWrites?.();
    this.stopSettings?.();
    if (this.verifyTimer !== undefined) this.deps.timers.clearTimeout(this.verifyTimer);
    for (const p of this.peers) {
      p.dispatcher.close();
      p.link.close();
    }
  }

  private activePeers(): Peer[] {
    return this.peers.filter((p) => !p.self);
  }

  private scheduleVerify(): void {
    if (this.closed) return;
    this.verifyTimer = this.deps.timers.setTimeout(() => {
      void this.verifyNow().finally(() => {
        this.scheduleVerify();
      });
    }, this.deps.config.verifyIntervalMs);
  }

  private onWrite(e: WriteEvent): void {
    if (e.replication) return; // never replicate a replication
    const key = taskKey(e.kind, e.ref);
    for (const p of this.peers) if (!p.self) p.dispatcher.offer(key, e);
  }

  private async sendBatch(peer: Peer, batch: readonly ReplicationTask[]): Promise<void> {
    const res = await peer.link.replicate(this.nodeId, batch);
    if (res.nodeId === this.nodeId) {
      // Our own address under another name: stop talking to ourselves.
      peer.self = true;
      peer.dispatcher.close();
      this.deps.logger.info({ peer: peer.address }, 'peer is this node; skipping it');
      return;
    }
    peer.nodeId = res.nodeId;
    res.answers.forEach((answer, i) => {
      const task = batch[i];
      if (task !== undefined) this.onAnswer(peer, task, answer);
    });
  }

  /** Acts on a peer's answer: take its newer write or cancel, or send it the record it lacks. */
  private onAnswer(peer: Peer, task: ReplicationTask, answer: PeerAnswer): void {
    const { registry, logger } = this.deps;
    const ref = task.ref;
    try {
      switch (answer.kind) {
        case 'newer-here': {
          // The peer holds a newer write (Eureka's 409): take it.
          const copy = answer.copy;
          if (copy === undefined) return;
          if (copy.state.version > 0) registry.applyReplica(copy.address, copy.state, copy.lastRenewalMs);
          else registry.adopt(copy.address, copy.state);
          return;
        }
        case 'deleted':
          // The peer holds a newer cancel: apply it here too.
          registry.applyTombstone(answer.tombstone);
          return;
        case 'not-found': {
          if (task.kind === 'cancel' || task.kind === 'service') return;
          // The peer does not know the instance (or holds an older write): send it the record.
          const { record, lastRenewalMs } = registry.getInstance(ref);
          const register: ReplicationTask = { kind: 'register', ref, record, lastRenewalMs, replication: false };
          peer.dispatcher.offer(taskKey(register.kind, ref), register);
          return;
        }
        case 'rejected':
          logger.warn({ peer: peer.address, instanceId: ref.instanceId, message: answer.message }, 'peer rejected a replication');
          return;
        case 'ok':
          return;
      }
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      // Gone here meanwhile (NOT_FOUND), or the peer's copy is not valid here: nothing to do.
      if (e.code !== 'NOT_FOUND') logger.warn({ peer: peer.address, instanceId: ref.instanceId, error: e.message }, "cannot take the peer's answer");
    }
  }
}
