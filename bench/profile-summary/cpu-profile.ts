/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and aggregates time per function, both self time (the
 * function itself was on top of the stack) and inclusive time (it was anywhere on the stack), and
 * self time per area (herald's src/, grpc-js, protobuf, Node internals, GC, idle).
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  readonly id: number;
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly children: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface FunctionTime {
  /** `name (file:line)`. */
  readonly where: string;
  readonly area: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

export interface ProfileSummary {
  /** Sampled wall time, ms. */
  readonly sampledMs: number;
  /** Sampled time not idle, ms. */
  readonly busyMs: number;
  readonly functions: readonly FunctionTime[];
  readonly areas: readonly { readonly area: string; readonly selfMs: number }[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function numbers(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x): x is number => typeof x === 'number')) throw new Error(`not a cpuprofile: ${what}`);
  return v;
}

function parseNode(v: unknown): ProfileNode {
  if (!isRecord(v) || typeof v.id !== 'number' || !isRecord(v.callFrame)) throw new Error('not a cpuprofile: node');
  const cf = v.callFrame;
  return {
    id: v.id,
    functionName: typeof cf.functionName === 'string' ? cf.functionName : '',
    url: typeof cf.url === 'string' ? cf.url : '',
    lineNumber: typeof cf.lineNumber === 'number' ? cf.lineNumber : -1,
    children: v.children === undefined ? [] : numbers(v.children, 'children'),
  };
}

function parseProfile(text: string): Profile {
  const v: unknown = JSON.parse(text);
  if (!isRecord(v) || !Array.isArray(v.nodes)) throw new Error('not a cpuprofile: nodes');
  return { nodes: v.nodes.map(parseNode), samples: numbers(v.samples, 'samples'), timeDeltas: numbers(v.timeDeltas, 'timeDeltas') };
}

/** Which part of the system a frame belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native (program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  if (url.includes('/src/gen/')) return 'generated protobuf (src/gen)';
  if (url.includes('/src/')) return 'herald (src)';
  if (url.startsWith('node:')) return 'node core';
  if (url === '') return 'native';
  return 'other';
}

function shortUrl(url: string): string {
  const m = /(?:node_modules\/|\/work\/main\/)(.*)$/.exec(url);
  return m?.[1] ?? url.replace(/^file:\/\//, '');
}

export async function summarizeProfile(path: string): Promise<ProfileSummary> {
  const profile = parseProfile(await readFile(path, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children) parent.set(c, n.id);
  // tsx-transformed modules report line 0 for every function; show a line only when there is one.
  const keyOf = (n: ProfileNode): string =>
    `${n.functionName || '(anonymous)'} (${shortUrl(n.url)}${n.lineNumber > 0 ? `:${n.lineNumber + 1}` : ''})`;

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const area = new Map<string, string>();
  const areaSelf = new Map<string, number>();
  let sampledUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(profile.samples[i] ?? -1);
    if (leaf === undefined) continue;
    sampledUs += dt;
    const leafArea = areaOf(leaf.url, leaf.functionName);
    if (leafArea === 'idle') idleUs += dt;
    areaSelf.set(leafArea, (areaSelf.get(leafArea) ?? 0) + dt);
    const leafKey = keyOf(leaf);
    self.set(leafKey, (self.get(leafKey) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n !== undefined; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = keyOf(n);
      if (seen.has(k)) continue;
      seen.add(k);
      area.set(k, areaOf(n.url, n.functionName));
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  const functions = [...total.entries()].map(([where, t]) => ({
    where,
    area: area.get(where) ?? 'other',
    selfMs: (self.get(where) ?? 0) / 1000,
    totalMs: t / 1000,
  }));
  const areas = [...areaSelf.entries()].map(([a, us]) => ({ area: a, selfMs: us / 1000 })).sort((a, b) => b.selfMs - a.selfMs);
  return { sampledMs: sampledUs / 1000, busyMs: (sampledUs - idleUs) / 1000, functions, areas };
}
