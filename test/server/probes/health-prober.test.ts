/**
 * The probe scheduler with a manual clock and timers and a scripted probe: thresholds both ways,
 * per-instance settings from metadata, the concurrency bound, and ephemeral instances left alone.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { Registry } from '../../../src/core/registry.js';
import { silentLogger } from '../../../src/common/logger.js';
import { HealthProber } from '../../../src/server/probes/health-prober.js';
import type { ProbeTarget } from '../../../src/server/probes/net-probes.js';
import { ManualTimers } from '../../support/manual-timers.js';

interface Pending {
  readonly target: ProbeTarget;
  readonly answer: (ok: boolean) => void;
}

function setup(concurrency = 8) {
  const clock = new ManualClock(1_700_000_000_000);
  const timers = new ManualTimers(clock);
  const registry = new Registry({ clock, random: () => 0 });
  const pending: Pending[] = [];
  const prober = new HealthProber({
    registry,
    clock,
    timers,
    logger: silentLogger,
    concurrency,
    random: () => 0,
    defaults: { kind: 'tcp', intervalMs: 1_000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
    probe: (target) => new Promise<boolean>((resolve) => pending.push({ target, answer: resolve })),
  });
  const answerAll = async (ok: boolean): Promise<void> => {
    for (const p of pending.splice(0)) p.answer(ok);
    await new Promise((r) => setImmediate(r));
  };
  const health = (id: string): boolean | undefined => registry.query({ service: 'db' }).hosts.find((h) => h.instanceId === id)?.healthy;
  const add = (id: string, metadata: Record<string, string> = {}, ephemeral = false): void => {
    registry.register({ service: 'db', instance: { instanceId: id, ip: '10.0.0.1', port: 5432, ephemeral, metadata } });
  };
  return { clock, timers, registry, prober, pending, answerAll, health, add };
}

describe('HealthProber', () => {
  it('shows an instance unhealthy after the failures threshold and healthy again after a success', async () => {
    const t = setup();
    t.add('db-1');
    t.prober.tick();
    expect(t.pending.map((p) => [p.target.kind, p.target.ip, p.target.port])).toEqual([['tcp', '10.0.0.1', 5432]]);
    await t.answerAll(false);
    expect(t.health('db-1')).toBe(true); // one failure: under the threshold of 2
    t.clock.advance(1_000);
    t.prober.tick();
    await t.answerAll(false);
    expect(t.health('db-1')).toBe(false);
    t.clock.advance(1_000);
    t.prober.tick();
    await t.answerAll(true);
    expect(t.health('db-1')).toBe(true);
    expect(t.prober.stats()).toMatchObject({ targets: 1, probes: 3, failures: 2 });
  });

  it('keeps a fixed rate: a probe that starts or answers late does not push the next ones back', async () => {
    const t = setup();
    // An interval that is not a multiple of the tick, so every probe starts a little after it is due.
    t.add('db-1', { 'herald.probe.interval-ms': '1130' });
    t.prober.start();
    const started: number[] = [];
    // 20 s; each probe answers 300 ms after it starts (a slow connect).
    for (let ms = 0; ms < 20_000; ms += t.prober.tickMs) {
      t.timers.advance(t.prober.tickMs);
      for (const p of t.pending.splice(0)) {
        started.push(t.clock.nowMs());
        const answer = p.answer;
        t.timers.setTimeout(() => { answer(true); }, 300);
      }
      await new Promise((r) => setImmediate(r));
    }
    t.prober.stop();
    // One probe per interval (the first is due at once: random() = 0), each within a tick of its due time.
    const first = started[0] ?? 0;
    expect(started.length).toBe(Math.floor((20_000 - (first - 1_700_000_000_000)) / 1_130) + 1);
    started.forEach((at, i) => { expect(at - (first + i * 1_130)).toBeLessThanOrEqual(t.prober.tickMs); });
  });

  it('takes the kind, port, path and interval from metadata, leaves ephemeral and herald.probe=none instances alone', async () => {
    const t = setup();
    t.add('http-1', { 'herald.probe': 'http', 'herald.probe.port': '8080', 'herald.probe.path': '/ready', 'herald.probe.interval-ms': '5000' });
    t.add('none-1', { 'herald.probe': 'none' });
    t.add('eph-1', {}, true);
    t.prober.tick();
    expect(t.pending.map((p) => [p.target.kind, p.target.port, p.target.path])).toEqual([['http', 8080, '/ready']]);
    await t.answerAll(true);
    t.clock.advance(1_000);
    t.prober.tick();
    expect(t.pending).toEqual([]); // next one is due 5 s after the first
    t.clock.advance(4_000);
    t.prober.tick();
    expect(t.pending).toHaveLength(1);
  });

  it('keeps at most `concurrency` probes in flight; the rest wait their turn', async () => {
    const t = setup(3);
    for (let i = 0; i < 10; i++) t.add(`db-${i}`);
    t.prober.tick();
    expect(t.pending).toHaveLength(3);
    expect(t.prober.stats()).toMatchObject({ inFlight: 3, queued: 7 });
    await t.answerAll(true);
    expect(t.pending).toHaveLength(3);
    await t.answerAll(true);
    await t.answerAll(true);
    await t.answerAll(true);
    expect(t.prober.stats()).toMatchObject({ inFlight: 0, queued: 0, probes: 10 });
  });

  it('runs on its timers once started, and stops', () => {
    const t = setup();
    t.add('db-1');
    t.prober.start();
    t.timers.advance(t.prober.tickMs);
    expect(t.pending).toHaveLength(1);
    t.prober.stop();
    t.clock.advance(10_000);
    t.timers.advance(10_000);
    expect(t.pending).toHaveLength(1);
  });
});
