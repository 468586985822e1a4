/**
 * The counters the UDP benchmark reads around its measured phase:
 *
 * - the server's UDP pusher (sent, resent, acked, failed, pending acks, targets), over IPC;
 * - the kernel's UDP counters (Linux /proc/net/snmp, machine-wide): datagrams received and sent,
 *   and those dropped because a socket's receive buffer was full (RcvbufErrors) or no socket
 *   listened on the port (NoPorts). On a benchmark machine the UDP benchmark is the only heavy UDP
 *   user, so the deltas over a run are its own;
 * - the drops at the server's own socket (/proc/net/udp): lost acks.
 */
import { readFileSync } from 'node:fs';
import type { UdpPushStats } from '../../src/push/udp-pusher.js';
import type { ServerProcess } from '../lib/server-process.js';
import { sleep } from '../lib/wall-clock.js';

export async function udpStats(server: ServerProcess): Promise<UdpPushStats> {
  const s = await server.udpStats();
  if (s === undefined) throw new Error('the server has UDP push off');
  return s;
}

/** Waits until the server has no unacknowledged push (or `timeoutMs` passed); returns its counters. */
export async function settledUdpStats(server: ServerProcess, timeoutMs: number): Promise<UdpPushStats> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await udpStats(server);
    if (s.pendingAcks === 0 || performance.now() >= deadline) return s;
    await sleep(50);
  }
}

/** Server-side UDP counters over the measured phase plus the settling of its acks. */
export interface UdpDelta {
  readonly sent: number;
  readonly resent: number;
  readonly acked: number;
  readonly failed: number;
  /** Acks still pending when the run stopped waiting (0 when everything settled). */
  readonly pendingAtEnd: number;
  /**
   * Pushes neither acknowledged nor failed nor pending: a newer push to the same target replaced
   * them while they waited for their ack (sent − acked − failed − pending).
   */
  readonly superseded: number;
  readonly targets: number;
  /** Datagrams the kernel dropped at the server's UDP socket (its receive buffer was full): lost acks. */
  readonly serverSocketDrops: number;
}

export function serverUdpDelta(before: UdpPushStats, after: UdpPushStats, dropsBefore: number | undefined, dropsAfter: number | undefined): UdpDelta {
  const sent = after.sent - before.sent;
  const acked = after.acked - before.acked;
  const failed = after.failed - before.failed;
  return {
    sent,
    resent: after.resent - before.resent,
    acked,
    failed,
    pendingAtEnd: after.pendingAcks,
    superseded: sent - acked - failed - after.pendingAcks,
    targets: after.targets,
    serverSocketDrops: dropsBefore === undefined || dropsAfter === undefined ? Number.NaN : dropsAfter - dropsBefore,
  };
}

export interface UdpCounters {
  readonly inDatagrams: number;
  readonly noPorts: number;
  readonly inErrors: number;
  readonly outDatagrams: number;
  readonly rcvbufErrors: number;
  readonly sndbufErrors: number;
}

/** undefined where /proc/net/snmp does not exist (not Linux). */
export function sampleUdpCounters(): UdpCounters | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/snmp', 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').trim().split(/\s+/).slice(1);
  const values = (lines[1] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const get = (name: string): number => values[names.indexOf(name)] ?? Number.NaN;
  return {
    inDatagrams: get('InDatagrams'),
    noPorts: get('NoPorts'),
    inErrors: get('InErrors'),
    outDatagrams: get('OutDatagrams'),
    rcvbufErrors: get('RcvbufErrors'),
    sndbufErrors: get('SndbufErrors'),
  };
}

/** after − before, field by field (NaN where either is missing). */
export function udpCountersDelta(before: UdpCounters | undefined, after: UdpCounters | undefined): UdpCounters {
  const d = (pick: (c: UdpCounters) => number): number => (before === undefined || after === undefined ? Number.NaN : pick(after) - pick(before));
  return {
    inDatagrams: d((c) => c.inDatagrams),
    noPorts: d((c) => c.noPorts),
    inErrors: d((c) => c.inErrors),
    outDatagrams: d((c) => c.outDatagrams),
    rcvbufErrors: d((c) => c.rcvbufErrors),
    sndbufErrors: d((c) => c.sndbufErrors),
  };
}

/**
 * Datagrams the kernel dropped for the UDP socket bound on 127.0.0.1:`port` since it was opened
 * (the `drops` column of /proc/net/udp: its receive buffer was full). undefined when not found.
 */
export function udpSocketDrops(port: number): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local) return Number(fields.at(-1));
  }
  return undefined;
}
