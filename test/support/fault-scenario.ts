/**
 * The fault scenario of test/cluster/fault-history.test.ts and bench/cluster-faults.ts, on real
 * processes:
 *
 * 1. Three nodes A, B, C. Seed: registrations spread over all three; wait until every node holds
 *    them all. (With `liveInstances`, also short-lease instances renewed at A and B throughout.)
 * 2. Fault C: `kill` (SIGKILL) or `stop` (SIGSTOP); `none` leaves it up (the control). Registers and cancels go on at A and B until at
 *    least `faultOps` ops and `faultMinMs` have passed.
 * 3. Heal: `kill` restarts C on the same port with the same flags (writes go on at A and B until it
 *    serves again; it must log "synced from peer"); `stop` sends SIGCONT.
 * 4. Wait until the nodes agree and every replication queue is empty, then observe for
 *    `settleIntervals` anti-entropy intervals more (polling the nodes' registries), and check every
 *    node against the acknowledged history. The server logs nothing for an anti-entropy pass that
 *    repaired nothing, so "one more pass" is measured in intervals of --verify-interval-ms.
 *    With `untilConverged`, keep observing (up to `healTimeoutMs`) until every node has equalled the
 *    history for one full interval: the convergence time.
 *
 * The result carries everything a test asserts on and a benchmark reports; the cluster is closed
 * before it returns.
 */
import { FaultCluster, pollUntil } from './fault-cluster.js';
import type { FaultNode } from './fault-node.js';
import { InstancePool, Keepalive, LONG_LEASE, runWorkload, seededRandom, type WorkloadSettings } from './fault-workload.js';
import { checkHistory, describeCheck, WriteHistory, type HistoryCheck, type OutcomeCounts } from './write-history.js';

/** `none` is the control: the same workload with C up throughout. */
export type FaultKind = 'kill' | 'stop' | 'none';

export interface FaultScenarioSettings {
  readonly fault: FaultKind;
  /** --verify-interval-ms (anti-entropy). */
  readonly verifyIntervalMs: number;
  /** --replication-task-expiry-ms. */
  readonly taskExpiryMs: number;
  /** --replication-retry-max-ms. Default 250. */
  readonly retryMaxMs?: number;
  /** --peer-call-timeout-ms. Default 1000. */
  readonly peerCallTimeoutMs?: number;
  /** --sync-timeout-ms. Default 5000. */
  readonly syncTimeoutMs?: number;
  /** --eviction-interval-ms. Default 1000. */
  readonly evictionIntervalMs?: number;
  /** More `herald serve` flags for every node (they come last, so they win). */
  readonly extraFlags?: readonly string[];
  /** Instances registered before the fault, over all three nodes. */
  readonly seedInstances: number;
  readonly services: number;
  /** Ops at A and B during the fault: at least this many… */
  readonly faultOps: number;
  /** …and for at least this long (ms). */
  readonly faultMinMs: number;
  /** Ops in flight during seeding and the fault. Default 16. */
  readonly concurrency?: number;
  /** Share of fault ops that cancel. Default 0.45. */
  readonly cancelShare?: number;
  /** Of the cancels, the share aimed at instances registered during the fault. Default 0.5. */
  readonly freshCancelShare?: number;
  /** Share of fault ops that register a cancelled id again. Default 0.05. */
  readonly reregisterShare?: number;
  /** Short-lease instances renewed at A and B from before the fault until the end. Default 0. */
  readonly liveInstances?: number;
  /** Their lease. Default 3000 ms, renewed every third of it. */
  readonly liveLeaseMs?: number;
  /** Observation after agreement, in verify intervals. Default 3. */
  readonly settleIntervals?: number;
  /** Keep observing until every node equals the history for a full interval (benchmark). Default false. */
  readonly untilConverged?: boolean;
  /** Bound on waits after the heal (agreement, convergence). Default 30 s. */
  readonly healTimeoutMs?: number;
  /** Registry polling period after the heal. Default 100 ms. */
  readonly pollEveryMs?: number;
  readonly seed?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** Called with the cluster once it runs (e.g. to register a cleanup). */
  readonly onCluster?: (cluster: FaultCluster) => void;
}

export interface FaultScenarioResult {
  readonly fault: FaultKind;
  readonly history: WriteHistory;
  /** Outcomes of the ops issued while C was down or frozen (and, for kill, while it restarted). */
  readonly faultCounts: OutcomeCounts;
  readonly faultCancels: OutcomeCounts;
  readonly faultOps: number;
  readonly faultDurationMs: number;
  /** Ops issued while C restarted (kill only). */
  readonly healOps: number;
  /** From the restart command to "herald is serving" (kill), 0 for stop. */
  readonly restartMs: number;
  /** C's "synced from peer" log line (kill), undefined otherwise or when it started alone. */
  readonly syncedFrom: string | undefined;
  /** From the heal to the nodes agreeing with each other (and empty queues); NaN if never. */
  readonly agreeAfterMs: number;
  /** From the heal to the start of the first stretch of one full verify interval in which every node equalled the history; NaN if none. */
  readonly convergedAfterMs: number;
  /** Whether some poll after the heal saw every node equal the history (even if it did not last). */
  readonly everCorrect: boolean;
  /** The check at the end of the observation. */
  readonly final: HistoryCheck;
  /** "anti-entropy repaired differences" lines after the heal: node, adopted, removed. */
  readonly repairs: { node: string; peer: string; adopted: number; removed: number }[];
  /** Replication tasks A and B dropped (expired or queue full) for C. */
  readonly droppedForC: number;
  /** Live instances evicted by any node after the heal ("evicted expired instance" lines). */
  readonly evictedLive: string[];
  /** Renewals of live instances that failed at A or B. */
  readonly liveRenewFailures: number;
  readonly liveRenewals: number;
  /** Node CPU over the whole scenario, ms. */
  readonly nodeCpuMs: number;
  /** Failure text: the check and every node's last log lines. */
  readonly report: string;
  /** The last log lines of every node. */
  readonly tails: string;
}

const SERVICE_PREFIX = 'fault-svc';
const LIVE_SERVICE = 'fault-live';

function flagsOf(s: FaultScenarioSettings): string[] {
  return [
    '--verify-interval-ms',
    String(s.verifyIntervalMs),
    '--replication-task-expiry-ms',
    String(s.taskExpiryMs),
    '--replication-retry-max-ms',
    String(s.retryMaxMs ?? 250),
    '--replication-batch-delay-ms',
    '2',
    '--peer-call-timeout-ms',
    String(s.peerCallTimeoutMs ?? 1_000),
    '--sync-timeout-ms',
    String(s.syncTimeoutMs ?? 5_000),
    '--eviction-interval-ms',
    String(s.evictionIntervalMs ?? 1_000),
    // Self-preservation would suspend eviction (the seeded instances renew nothing), which would
    // make "nothing live is evicted" hold vacuously.
    '--self-preservation',
    'off',
    '--udp-push',
    'off',
    ...(s.extraFlags ?? []),
  ];
}

/** Every node holds every instance the history expects present. */
async function allHold(cluster: FaultCluster, history: WriteHistory): Promise<boolean> {
  const expected = history.expectedPresent();
  const snaps = await cluster.snapshots();
  for (const snap of snaps.values()) {
    for (const [service, ids] of expected) {
      const held = snap.get(service);
      for (const id of ids) if (held?.has(id) !== true) return false;
    }
  }
  return true;
}

/** Every running node reports every peer's replication queue empty. */
async function queuesEmpty(nodes: readonly FaultNode[]): Promise<boolean> {
  const statuses = await Promise.all(nodes.map((n) => n.clusterStatus()));
  return statuses.every((s) => s.peers.every((p) => p.queueDepth === 0));
}

export async function runFaultScenario(s: FaultScenarioSettings): Promise<FaultScenarioResult> {
  const log = s.log ?? ((): void => {});
  const cluster = await FaultCluster.start({ flags: flagsOf(s), startTimeoutMs: (s.syncTimeoutMs ?? 5_000) + 20_000 });
  s.onCluster?.(cluster);
  try {
    const [a, b, c] = [cluster.node('A'), cluster.node('B'), cluster.node('C')];
    const history = new WriteHistory();
    const pool = new InstancePool();
    const random = seededRandom(s.seed ?? 1);
    const services = Array.from({ length: s.services }, (_, i) => `${SERVICE_PREFIX}-${i}`);
    const concurrency = s.concurrency ?? 16;
    const healTimeoutMs = s.healTimeoutMs ?? 30_000;
    const pollEveryMs = s.pollEveryMs ?? 100;
    const base: Omit<WorkloadSettings, 'phase' | 'targets' | 'idPrefix'> = {
      history,
      pool,
      services,
      concurrency,
      cancelShare: 0,
      freshCancelShare: 0,
      reregisterShare: 0,
      // Well beyond the A↔B replication delay, so a client's register at one node and its cancel at
      // the other are ordered for the cluster too, not concurrent.
      minAgeMs: 250,
      lease: LONG_LEASE,
      random,
    };

    // 1. Seed over all three nodes, and the live instances (renewed at A and B only).
    const seeded = await runWorkload({ ...base, phase: 'seed', targets: [a, b, c], idPrefix: 'seed' }, (ops) => ops >= s.seedInstances);
    const seedCounts = history.counts({ phase: 'seed' });
    if (seedCounts.ok !== s.seedInstances) throw new Error(`seeding: ${seedCounts.ok} of ${s.seedInstances} registrations acknowledged (${seedCounts.refused} refused, ${seedCounts.uncertain} uncertain)`);
    const liveLeaseMs = s.liveLeaseMs ?? 3_000;
    const keepalive = (s.liveInstances ?? 0) > 0 ? await Keepalive.start(history, pool, [a, b], LIVE_SERVICE, s.liveInstances ?? 0, { durationMs: liveLeaseMs, renewalIntervalMs: Math.max(100, Math.floor(liveLeaseMs / 3)) }) : undefined;
    try {
      await pollUntil('every node to hold every seeded instance', () => allHold(cluster, history), { timeoutMs: 30_000, everyMs: 100 });
      log(`seeded ${seeded.ops} instances in ${seeded.durationMs.toFixed(0)} ms${keepalive === undefined ? '' : ` and ${keepalive.ids.length} live ones`}; every node holds them`);

      // 2. The fault, with writes at A and B.
      const faultStarted = performance.now();
      if (s.fault === 'kill') await c.kill9();
      else if (s.fault === 'stop') c.freeze();
      const fault: WorkloadSettings = {
        ...base,
        phase: 'fault',
        targets: [a, b],
        idPrefix: 'fault',
        cancelShare: s.cancelShare ?? 0.45,
        freshCancelShare: s.freshCancelShare ?? 0.5,
        reregisterShare: s.reregisterShare ?? 0.05,
      };
      const during = await runWorkload(fault, (ops) => ops >= s.faultOps && performance.now() - faultStarted >= s.faultMinMs);
      const faultDurationMs = performance.now() - faultStarted;
      log(`${s.fault === 'kill' ? 'killed' : s.fault === 'stop' ? 'froze' : 'kept'} C for ${faultDurationMs.toFixed(0)} ms: ${during.ops} ops at A and B`);

      // 3. Heal.
      const cursors = cluster.cursors();
      const healStarted = performance.now();
      let healOps = 0;
      let restartMs = 0;
      let syncedFrom: string | undefined;
      if (s.fault === 'kill') {
        // Writes go on while C restarts and syncs.
        let serving = false;
        const healWrites = runWorkload({ ...fault, phase: 'heal' }, () => serving);
        try {
          await c.restart();
        } finally {
          serving = true;
          healOps = (await healWrites).ops;
        }
        restartMs = performance.now() - healStarted;
        const synced = await c.waitForLog(/synced from peer|no peer reachable/, { after: cursors.get('C') ?? 0, timeoutMs: 1 });
        if (synced.msg !== 'synced from peer') throw new Error(`C did not sync from a peer on restart: ${synced.raw}\n${cluster.tails()}`);
        syncedFrom = synced.raw;
        log(`C restarted in ${restartMs.toFixed(0)} ms (${healOps} ops meanwhile) and synced: ${JSON.stringify({ peer: synced.fields.peer, instances: synced.fields.instances })}`);
      } else if (s.fault === 'stop') {
        c.thaw();
        log('C thawed');
      }

      // 4. Agreement, then at least one more anti-entropy interval (settleIntervals of them).
      const nodes = [a, b, c];
      let everCorrect = false;
      let okSince: number | undefined;
      let convergedAt = Number.NaN;
      let last: HistoryCheck | undefined;
      const observe = async (): Promise<HistoryCheck> => {
        const check = checkHistory(history, await cluster.snapshots());
        const now = performance.now();
        if (check.ok) {
          everCorrect = true;
          okSince ??= now;
          if (Number.isNaN(convergedAt) && now - okSince >= s.verifyIntervalMs) convergedAt = okSince;
        } else {
          okSince = undefined;
          convergedAt = Number.NaN;
        }
        last = check;
        return check;
      };
      let agreeAt = Number.NaN;
      try {
        await pollUntil('the nodes to agree with empty replication queues', async () => (await observe()).agree && (await queuesEmpty(nodes)), { timeoutMs: healTimeoutMs, everyMs: pollEveryMs });
        agreeAt = performance.now();
        log(`nodes agree ${(agreeAt - healStarted).toFixed(0)} ms after the heal`);
      } catch (e) {
        log(e instanceof Error ? e.message : String(e));
      }
      const settleUntil = performance.now() + (s.settleIntervals ?? 3) * s.verifyIntervalMs;
      await pollUntil('the settle window', async () => (await observe(), performance.now() >= settleUntil), { timeoutMs: (s.settleIntervals ?? 3) * s.verifyIntervalMs + healTimeoutMs, everyMs: pollEveryMs });
      if (s.untilConverged === true && Number.isNaN(convergedAt)) {
        const remaining = healTimeoutMs - (performance.now() - healStarted);
        if (remaining > 0) {
          await pollUntil('every node to equal the history for one interval', async () => (await observe(), !Number.isNaN(convergedAt)), { timeoutMs: remaining, everyMs: pollEveryMs }).catch(() => undefined);
        }
      }
      const final = last ?? (await observe());
      keepalive?.stop();

      const repairs = cluster
        .logs(/anti-entropy repaired differences/, cursors)
        .sort((x, y) => x.line.receivedAtMs - y.line.receivedAtMs)
        .map(({ node, line }) => ({
          node,
          peer: String(line.fields.peer),
          adopted: Number(line.fields.adopted),
          removed: Number(line.fields.removed),
        }));
      const liveIds = new Set(keepalive?.ids ?? []);
      const evictedLive = cluster
        .logs(/evicted expired instance/, cursors)
        .filter(({ line }) => liveIds.has(String(line.fields.instanceId)))
        .map(({ node, line }) => `${node}:${String(line.fields.instanceId)}`);
      const statuses = await Promise.all([a, b].map((n) => n.clusterStatus()));
      const droppedForC = statuses.reduce((sum, st) => sum + st.peers.filter((p) => p.address === c.address).reduce((n, p) => n + p.droppedTasks, 0), 0);
      const tails = cluster.tails(12);
      const repairItems = repairs.map((r) => `${r.node}←${r.peer} adopted ${r.adopted} removed ${r.removed}`);
      const shownRepairs = repairItems.length <= 24 ? repairItems : [...repairItems.slice(0, 12), `… ${repairItems.length - 24} more …`, ...repairItems.slice(-12)];
      const repairText = repairs.length === 0 ? 'no anti-entropy repairs after the heal' : `${repairs.length} anti-entropy repairs after the heal: ${shownRepairs.join('; ')}`;
      const report = `${describeCheck(final, history)}\n${repairText}\n${tails}`;
      return {
        fault: s.fault,
        history,
        faultCounts: history.counts({ phase: 'fault' }),
        faultCancels: history.counts({ phase: 'fault', kind: 'cancel' }),
        faultOps: during.ops,
        faultDurationMs,
        healOps,
        restartMs,
        syncedFrom,
        agreeAfterMs: agreeAt - healStarted,
        convergedAfterMs: convergedAt - healStarted,
        everCorrect,
        final,
        repairs,
        droppedForC,
        evictedLive,
        liveRenewFailures: keepalive?.failed.length ?? 0,
        liveRenewals: keepalive?.renewed ?? 0,
        nodeCpuMs: cluster.cpuMs(),
        report,
        tails,
      };
    } finally {
      keepalive?.stop();
    }
  } finally {
    await cluster.close();
  }
}
