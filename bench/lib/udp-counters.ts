/**
 * The kernel's UDP counters (Linux /proc/net/snmp, machine-wide): how many datagrams were
 * received and sent, and how many were dropped because a socket's receive buffer was full
 * (RcvbufErrors) or no socket listened on the port (NoPorts). On a benchmark machine the UDP
 * benchmark is the only heavy UDP user, so the deltas over a run are its own.
 */
import { readFileSync } from 'node:fs';

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
