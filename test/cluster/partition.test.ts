/**
 * Real network partitions (test/support/netns.ts): three `herald serve` processes, each in a network
 * namespace of its own, joined by a bridge; one node is cut off while it keeps running.
 *
 * 1. Evictions under a partition. Five instances (fewer than self-preservation's minimum of 10, so
 *    it never engages) are renewed through node 1; node 3, cut off, hears no renewals and evicts
 *    all five. After the heal no live instance may disappear from nodes 1 and 2, not even for a
 *    moment (their subscribers and their delta logs show every removal), and node 3 must get all
 *    five back. An eviction is one node's opinion (Eureka never replicates one); only a cancel
 *    someone asked for may spread. Run twice: the network heals at once, and it heals towards
 *    node 2 first (node 1 and node 3 still apart until node 2 has verified with node 3), which
 *    makes the race in which node 2's anti-entropy meets node 3's evictions certain.
 * 2. Writes on both sides of the cut. Clients inside each node's namespace register and cancel
 *    through their own node before, during and right after the cut (node 3's client keeps writing
 *    to node 3 while it is cut off); each id has one writer. After the heal and a clean anti-entropy
 *    round every node must hold exactly what the acknowledged history says: nothing lost, nothing
 *    resurrected, nothing stale or unexpected. Run three ways: the cut's replication still queued
 *    at the heal (a short cut); expired during the cut, its connections gone as keepalive would
 *    take them (anti-entropy alone repairs); and the cut outlasting the delta retention too (the
 *    recently-changed log, 3 min by default, where cancels were once remembered only).
 *
 * Every wait is on an event (a log line, a state, a witnessed anti-entropy round); nothing asserts
 * on durations. HERALD_PARTITION_RUNS=n repeats each scenario n times (default 1);
 * HERALD_PARTITION_CUT_MS sets how long the network stays down in the heal-at-once run (default
 * 20000, as in the issue; the cut also lasts until node 3 has evicted all five).
 * Needs root and iproute2; skipped otherwise, unless HERALD_REQUIRE_NETNS=1 (CI), which fails.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Subscription } from 'rxjs';
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { netnsUnavailable, removeOwnNetworks } from '../support/netns.js';
import { NetnsCluster, until } from '../support/netns-cluster.js';
import type { NetnsClient } from '../support/netns-client.js';
import type { LogLine } from '../support/netns-node.js';
import { clean, describeVerdict, outcomeOf, WriteHistory, type Write } from '../support/partition-history.js';

const missing = netnsUnavailable();
const RUNS = Math.max(1, Number(process.env.HERALD_PARTITION_RUNS ?? '1'));
const CUT_MS = Number(process.env.HERALD_PARTITION_CUT_MS ?? '20000');
const runs = Array.from({ length: RUNS }, (_, i) => i + 1);

/** Short intervals so a scenario takes seconds: eviction every 500 ms, anti-entropy every second. */
const FAST = ['--eviction-interval-ms', '500', '--verify-interval-ms', '1000', '--peer-call-timeout-ms', '2000', '--sync-timeout-ms', '3000', '--udp-push', 'off'];
const SERVICE = 'orders';

let cluster: NetnsCluster | undefined;
const subscriptions: Subscription[] = [];
afterEach(async () => {
  for (const s of subscriptions.splice(0)) s.unsubscribe();
  await cluster?.close();
  cluster = undefined;
});
afterAll(() => {
  if (missing === undefined) removeOwnNetworks();
});

async function startCluster(args: readonly string[], onTestFailed: (fn: () => void) => void): Promise<NetnsCluster> {
  const c = await NetnsCluster.start({ nodes: 3, args: [...FAST, ...args] });
  cluster = c;
  onTestFailed(() => {
    console.error(`partition test failed; what the cluster did:\n${c.report()}`);
  });
  return c;
}

/** Every snapshot a Subscribe stream on node k pushes, recorded for the whole test. */
function recordSnapshots(c: NetnsCluster, k: number): { atMs: number; ids: string[] }[] {
  const seen: { atMs: number; ids: string[] }[] = [];
  subscriptions.push(
    c.transport(k).subscribe(SubscribeRequest.fromPartial({ service: SERVICE })).subscribe({
      next: (info) => seen.push({ atMs: Date.now(), ids: info.hosts.map((h) => h.instanceId).sort() }),
      error: (e: unknown) => seen.push({ atMs: Date.now(), ids: [`stream error: ${String(e)}`] }),
    }),
  );
  return seen;
}

const repaired = (c: NetnsCluster): string[] =>
  c.nodes.flatMap((n) => n.logs((l: LogLine) => l.msg === 'anti-entropy repaired differences').map((l) => `node${n.k} from ${String(l.peer)}: adopted ${String(l.adopted)}, removed ${String(l.removed)}`));

describe.skipIf(missing !== undefined)('a real network partition (network namespaces)', () => {
  describe.each([
    { heal: 'at once' as const },
    { heal: 'towards node 2 first' as const },
  ])('evictions on a cut-off node, heal $heal', ({ heal }) => {
    it.for(runs)('never remove a live instance from the other nodes, and node 3 gets them back (run %i)', { timeout: 150_000 }, async (run, { onTestFailed }) => {
      const c = await startCluster([], onTestFailed);
      const ids = ['live-1', 'live-2', 'live-3', 'live-4', 'live-5'];
      const renewer = await c.client(1);
      // Short leases renewed through node 1, by a client in node 1's namespace. They run out
      // together on node 3, whose eviction runs (every 500 ms, at most one of five per run) then
      // pick victims at random, as shipped.
      const instances = ids.map((id) => ({ id, leaseMs: 3_000 }));
      const keep = await renewer.send({ op: 'keepalive', service: SERVICE, instances, renewMs: 500 });
      expect(keep).toMatchObject({ ok: true });
      await until(async () => (await Promise.all([1, 2, 3].map((k) => c.holdings(k, SERVICE)))).every((h) => ids.every((id) => h.has(id))), 'the five on every node');
      const subscribers = [1, 2].map((k) => ({ k, seen: recordSnapshots(c, k) }));
      await until(() => subscribers.every((s) => ids.every((id) => s.seen.at(-1)?.ids.includes(id) === true)), 'subscribers on nodes 1 and 2 holding the five');

      const cutAt = Date.now();
      c.net.cut(3);
      // Node 3 hears no renewals: with five instances self-preservation stays off, so it evicts.
      const isLive = (l: LogLine): boolean => l.msg === 'evicted expired instance' && ids.includes(String(l.instanceId));
      await c.node(3).waitLogs(isLive, ids.length, 'node 3 evicting the five', 40_000);
      await c.node(1).waitLog((l) => l.msg === 'peer unreachable; replication queued' && l.peer === c.node(3).address, 'node 1 finding node 3 unreachable');
      let healedAt: number;
      let reunitedAt: number;
      if (heal === 'at once') {
        // The fault's shape, not a synchronisation: the network stays down this long (the issue's 20 s).
        const left = cutAt + CUT_MS - Date.now();
        if (left > 0) await new Promise((r) => setTimeout(r, left));
        c.net.heal(3);
        healedAt = reunitedAt = Date.now();
      } else {
        c.net.separate(1, 3);
        c.net.heal(3);
        healedAt = Date.now();
        // Node 2 verifies with node 3 (holding only its evictions) before node 1 reaches node 3.
        await c.cleanRoundSince(healedAt, [2]);
        c.net.join(1, 3);
        reunitedAt = Date.now();
      }
      const evictedWhileCut = new Set(c.node(3).logs((l) => isLive(l) && Date.parse(l.time) < healedAt).map((l) => String(l.instanceId)));
      // Renewals reach node 3 again once node 1's replication to it recovers (its back-off allowing).
      await c.node(1).waitLog((l) => l.msg === 'peer reachable' && l.peer === c.node(3).address && Date.parse(l.time) >= reunitedAt, 'node 1 replicating to node 3 again', 40_000);
      await until(async () => {
        const h = await c.holdings(3, SERVICE);
        return ids.every((id) => h.has(id));
      }, 'node 3 holding the five again', 40_000);
      await c.cleanRoundSince(Date.now());

      const finals = await Promise.all([1, 2, 3].map(async (k) => ({ k, ids: [...(await c.holdings(k, SERVICE)).keys()].sort() })));
      const deletions = await Promise.all([1, 2].map(async (k) => ({ k, removed: (await c.deletions(k, SERVICE)).filter((d) => ids.includes(d.id)) })));
      const since = (atMs: number): string => `heal${atMs >= healedAt ? '+' : ''}${atMs - healedAt} ms`;
      const misses = subscribers.map((s) => {
        const bad = s.seen.filter((snap) => !ids.every((id) => snap.ids.includes(id)));
        return {
          node: s.k,
          snapshots: s.seen.length,
          lacking: bad.length,
          fewestHosts: Math.min(...s.seen.map((x) => x.ids.length)),
          missingIds: [...new Set(bad.flatMap((b) => ids.filter((id) => !b.ids.includes(id))))].sort(),
          first: bad.slice(0, 6).map((b) => `${b.ids.length} hosts at ${since(b.atMs)}`),
        };
      });
      const summary = {
        scenario: `evictions, heal ${heal}`,
        run,
        evictedWhileCut: evictedWhileCut.size,
        node3EvictionsAfterHeal: c.node(3).logs((l) => isLive(l) && Date.parse(l.time) >= healedAt).length,
        subscribers: misses,
        removedOnHealthyNodes: deletions.map((d) => ({ node: d.k, removals: d.removed.length, ids: [...new Set(d.removed.map((r) => r.id))].sort(), first: d.removed.slice(0, 3).map((r) => `${r.id} at ${since(r.atMs)}`) })),
        antiEntropyRepairs: repaired(c),
        renewalsNotFound: renewer.events.filter((e) => e.event === 'renew-not-found').length,
        final: finals.map((f) => `node${f.k}: ${f.ids.length}`),
      };
      console.log(`[partition] ${JSON.stringify(summary)}`);

      expect(evictedWhileCut.size, 'node 3 evicted the five while cut off').toBe(ids.length);
      // As strings, so the failure shows all of it.
      expect
        .soft(
          misses.filter((m) => m.lacking > 0).map((m) => `node${m.node}: ${m.lacking} of ${m.snapshots} snapshots lacked ${m.missingIds.join(', ')} (fewest hosts ${m.fewestHosts}); first: ${m.first.join(', ')}`),
          'snapshots pushed by nodes 1 and 2 that lacked a live instance',
        )
        .toEqual([]);
      expect
        .soft(
          summary.removedOnHealthyNodes.filter((d) => d.removals > 0).map((d) => `node${d.node}: ${d.removals} removals of ${d.ids.join(', ')}; first: ${d.first.join(', ')}`),
          'live instances removed on nodes 1 and 2 (their delta logs)',
        )
        .toEqual([]);
      expect.soft(summary.renewalsNotFound, 'renewals through node 1 answered NOT_FOUND (node 1 had lost the instance)').toBe(0);
      for (const f of finals) expect.soft(f.ids, `node${f.k} after the heal and a full anti-entropy round`).toEqual(ids);
    });
  });

  describe.each([
    { cut: 'queued' as const, label: 'replication of the cut still queued at the heal', args: [] },
    { cut: 'expired' as const, label: 'replication of the cut expired during it', args: ['--replication-task-expiry-ms', '3000'] },
    {
      cut: 'forgotten' as const,
      label: 'the cut outlasting replication expiry and the delta retention (3 min by default)',
      args: ['--replication-task-expiry-ms', '3000', '--delta-retention-ms', '4000'],
    },
  ])('writes on both sides of the cut, $label', ({ cut, args }) => {
    it.for(runs)('every node ends equal to the acknowledged history (run %i)', { timeout: 150_000 }, async (run, { onTestFailed }) => {
      // Long leases: nothing expires, so every difference comes from the writes and the cut.
      const c = await startCluster(args, onTestFailed);
      const clients = await Promise.all([1, 2, 3].map((k) => c.client(k)));
      const history = new WriteHistory();
      const write = async (client: NetnsClient, id: string, w: Write): Promise<void> => {
        const reply =
          w.kind === 'register'
            ? await client.send({ op: 'register', service: SERVICE, id, version: w.version, leaseMs: 600_000, renewMs: 30_000 })
            : await client.send({ op: 'cancel', service: SERVICE, id });
        history.add({ id, write: w, outcome: outcomeOf(reply), via: `client in node${client.k}'s namespace`, ...(reply.ok ? {} : { detail: `${reply.code} ${reply.details}` }) });
      };
      const script = (client: NetnsClient, steps: [number, Write][]): Promise<void> =>
        steps.reduce((p, [i, w]) => p.then(() => write(client, `w${client.k}-${i}`, w)), Promise.resolve());
      const reg = (version: number): Write => ({ kind: 'register', version });
      const cancel: Write = { kind: 'cancel' };

      await Promise.all(clients.map((cl) => script(cl, [0, 1, 2, 3, 4, 5].map((i) => [i, reg(1)]))));
      const before = history.mustHold();
      await until(async () => (await Promise.all([1, 2, 3].map((k) => c.holdings(k, SERVICE)))).every((h) => [...before.keys()].every((id) => h.has(id))), 'the first writes on every node');

      const cutAt = Date.now();
      c.net.cut(3);
      const during: [number, Write][] = [[0, cancel], [1, cancel], [2, reg(2)], [3, cancel], [3, reg(3)], [6, reg(1)], [7, reg(1)], [8, reg(1)], [9, reg(1)], [9, cancel]];
      await Promise.all(clients.map((cl) => script(cl, during)));
      // The cut took: node 3 and the others each failed to replicate to the other side...
      const down = (k: number, peer: number) =>
        c.node(k).waitLog((l) => l.msg === 'peer unreachable; replication queued' && l.peer === c.node(peer).address, `node${k} finding node${peer} unreachable`);
      await Promise.all([down(1, 3), down(2, 3), down(3, 1), down(3, 2)]);
      const across: [number, number][] = [[1, 3], [2, 3], [3, 1], [3, 2]];
      if (cut !== 'queued') {
        // ...and dropped what it could not deliver in time: anti-entropy alone must repair the cut.
        const dropped = async ([k, peer]: [number, number]): Promise<boolean> => {
          const r = await clients[k - 1]?.send({ op: 'cluster' });
          const peers = r?.ok === true ? (r.result as { peers: { address: string; droppedTasks: number }[] }).peers : [];
          return (peers.find((p) => p.address === c.node(peer).address)?.droppedTasks ?? 0) > 0;
        };
        await until(async () => (await Promise.all(across.map(dropped))).every(Boolean), 'replication of the cut dropped on both sides');
        // A cut that long outlasts the peers' keepalive too: their connections die with what they
        // still carried (else TCP would deliver the dropped batches after the heal).
        c.net.dropConnections(3, [1, 2]);
      }
      if (cut === 'forgotten') {
        // ...and no node remembers the cut's removals any more (its delta log has aged them out).
        const cancelledInCut = clients.flatMap((cl) => [0, 1, 9].map((i) => `w${cl.k}-${i}`));
        const remembers = async (cl: NetnsClient): Promise<boolean> => {
          const r = await cl.send({ op: 'deletions', service: SERVICE });
          return r.ok && (r.result as { id: string }[]).some((d) => cancelledInCut.includes(d.id));
        };
        await until(async () => !(await Promise.all(clients.map(remembers))).some(Boolean), "the cut's removals aged out of every delta log");
      }
      c.net.heal(3);
      const healedAt = Date.now();
      const after: [number, Write][] = [[6, cancel], [10, reg(1)], [4, reg(4)]];
      await Promise.all(clients.map((cl) => script(cl, after)));
      const lastWriteAt = Date.now();

      await c.cleanRoundSince(lastWriteAt);
      const first = await Promise.all([1, 2, 3].map(async (k) => ({ k, verdict: history.check(await c.holdings(k, SERVICE)) })));
      // Once more: what a later round does must not undo it.
      await c.cleanRoundSince(Date.now());
      const second = await Promise.all([1, 2, 3].map(async (k) => ({ k, verdict: history.check(await c.holdings(k, SERVICE)) })));

      // Where each wrong copy came from: every node's copy with its timestamps, relative to the cut.
      const wrong = [...new Set([...first, ...second].flatMap((f) => [...f.verdict.lost, ...f.verdict.resurrected, ...f.verdict.stale, ...f.verdict.unexpected].map((d) => d.id)))].sort();
      const copies = await Promise.all([1, 2, 3].map((k) => c.copies(k, SERVICE)));
      const rel = (ms: number): string => (ms === 0 ? '-' : ms < healedAt ? `cut${ms >= cutAt ? '+' : ''}${ms - cutAt}` : `heal+${ms - healedAt}`);
      const explained = wrong.map((id) => {
        const writes = history.writes(id).map((r) => (r.write.kind === 'register' ? `register v${r.write.version}` : 'cancel')).join(', ');
        const held = copies.map((m, i) => {
          const cp = m.get(id);
          return `node${i + 1}: ${cp === undefined ? 'absent' : `v${cp.version} dirty ${rel(cp.dirty)} updated ${rel(cp.updated)} registered ${rel(cp.registered)}`}`;
        });
        return `${id} (${writes}): ${held.join('; ')}`;
      });
      const summary = {
        scenario: `writes on both sides, ${cut}`,
        run,
        writes: history.all.length,
        notAcknowledged: history.all.filter((r) => r.outcome !== 'acknowledged').map((r) => `${r.id} ${r.write.kind} ${r.outcome} ${r.detail ?? ''}`),
        mustHold: history.mustHold().size,
        afterFirstRound: first.map((f) => `node${f.k}: ${describeVerdict(f.verdict)}`),
        afterSecondRound: second.map((f) => `node${f.k}: ${describeVerdict(f.verdict)}`),
        antiEntropyRepairs: repaired(c),
        wrongCopies: explained,
      };
      console.log(`[partition] ${JSON.stringify(summary)}`);

      expect(history.all.filter((r) => r.outcome !== 'acknowledged'), 'every write acknowledged (each client talks to its own node)').toEqual([]);
      for (const f of [...first, ...second]) expect(clean(f.verdict), `node${f.k}: ${describeVerdict(f.verdict)}`).toBe(true);
    });
  });
});

if (missing !== undefined) {
  describe('a real network partition (network namespaces)', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
