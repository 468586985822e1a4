/**
 * Live objects in a V8 heap snapshot (.heapsnapshot, as written by v8.writeHeapSnapshot or
 * `node --heapsnapshot-signal`), counted and sized by constructor (or by kind for strings, code,
 * arrays and native objects). With two snapshots, the difference: what the second holds that the
 * first did not, optionally divided by a count (e.g. streams opened in between) to get a per-item
 * cost. Self sizes only (no retained sizes); a snapshot is taken after a full collection.
 *
 *   npx tsx bench/heap-summary.ts <snapshot> [--top 30]
 *   npx tsx bench/heap-summary.ts <before> <after> [--per 10000] [--top 40]
 *   npx tsx bench/heap-summary.ts <snapshot> --retainers ArrayBuffer   # who holds them (one edge up)
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { intFlag } from './lib/flags.js';
import { printTable } from './lib/report.js';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

interface Tally {
  count: number;
  bytes: number;
}

/** Group key of a node: its constructor name for objects and closures, else its kind. */
function keyOf(type: string, name: string): string {
  switch (type) {
    case 'object':
      return name;
    case 'closure':
      return `(closure) ${name === '' ? '(anonymous)' : name}`;
    case 'native':
      return `(native) ${name.replace(/\s+\/.*$/, '').slice(0, 60)}`;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'code':
      return '(code)';
    case 'array':
      return `(array) ${name}`;
    case 'hidden':
      return `(hidden) ${name.slice(0, 40)}`;
    case 'number':
      return '(heap number)';
    default:
      return `(${type})`;
  }
}

export function tallies(file: string): { byKey: Map<string, Tally>; total: Tally } {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const byKey = new Map<string, Tally>();
  const total = { count: 0, bytes: 0 };
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt] ?? 0] ?? '?';
    const name = s.strings[s.nodes[i + nameAt] ?? 0] ?? '';
    const size = s.nodes[i + sizeAt] ?? 0;
    if (type === 'synthetic') continue;
    const key = keyOf(type, name);
    const t = byKey.get(key) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += size;
    byKey.set(key, t);
    total.count++;
    total.bytes += size;
  }
  return { byKey, total };
}

/**
 * Immediate retainers of the nodes in group `key` (see keyOf): for each referring node's group and
 * the edge's name, how many such nodes it holds and their self sizes (weak edges left out).
 */
export function retainers(file: string, key: string): Map<string, Tally> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { node_fields: fields, node_types: nodeTypes, edge_fields: edgeFields, edge_types: edgeTypes } = s.snapshot.meta;
  const width = fields.length;
  const edgeWidth = edgeFields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const edgeCountAt = fields.indexOf('edge_count');
  const edgeTypeAt = edgeFields.indexOf('type');
  const edgeNameAt = edgeFields.indexOf('name_or_index');
  const edgeToAt = edgeFields.indexOf('to_node');
  const groupOf = (i: number): string => keyOf(nodeTypes[0][s.nodes[i + typeAt] ?? 0] ?? '?', s.strings[s.nodes[i + nameAt] ?? 0] ?? '');
  const out = new Map<string, Tally>();
  let e = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const edges = s.nodes[i + edgeCountAt] ?? 0;
    for (let k = 0; k < edges; k++, e += edgeWidth) {
      const edgeType = edgeTypes[0][s.edges[e + edgeTypeAt] ?? 0] ?? '?';
      if (edgeType === 'weak') continue;
      const to = s.edges[e + edgeToAt] ?? 0;
      if (groupOf(to) !== key) continue;
      const raw = s.edges[e + edgeNameAt] ?? 0;
      const named = s.strings[raw] ?? '?';
      // Ephemeron edges name both ends (`part of key (Object @1) -> value (Buffer @2) pair in WeakMap`): one group for all.
      const edgeName = edgeType === 'element' || edgeType === 'hidden' ? `[${edgeType}]` : named.includes('pair in WeakMap') ? '(value in a WeakMap)' : named;
      const k2 = `${groupOf(i)} .${edgeName}`;
      const t = out.get(k2) ?? { count: 0, bytes: 0 };
      t.count++;
      t.bytes += s.nodes[to + sizeAt] ?? 0;
      out.set(k2, t);
    }
  }
  return out;
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string' }, per: { type: 'string' }, retainers: { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(
      [
        'Usage: npx tsx bench/heap-summary.ts <snapshot> [<later snapshot>] [options]',
        '',
        'Live objects in a V8 heap snapshot by constructor; with two snapshots, what the second holds that the first did not.',
        '',
        '  --top <n>            rows to print (default 40)',
        '  --per <n>            divide the difference by n (e.g. streams opened in between)',
        '  --retainers <group>  what refers to the objects of a group (one edge up)',
        '  --help               this text',
        '',
      ].join('\n'),
    );
    return;
  }
  const top = intFlag('top', values.top, 40);
  const [first, second] = positionals;
  if (first === undefined) throw new Error('usage: heap-summary.ts <snapshot> [<later snapshot>] [--per n] [--top n] [--retainers <group>]');
  if (values.retainers !== undefined) {
    const rows = [...retainers(first, values.retainers).entries()].sort(([, x], [, y]) => y.count - x.count).slice(0, top);
    printTable(
      `${first}: what refers to "${values.retainers}" (one edge up, weak edges left out):`,
      ['retainer .edge', 'count', 'bytes held'],
      rows.map(([k, t]) => [k, t.count, t.bytes]),
    );
    return;
  }
  const a = tallies(first);
  if (second === undefined) {
    const rows = [...a.byKey.entries()].sort(([, x], [, y]) => y.bytes - x.bytes).slice(0, top);
    printTable(
      `${first}: ${a.total.count.toLocaleString('en-US')} objects, ${(a.total.bytes / 2 ** 20).toFixed(1)} MiB (self sizes), largest groups:`,
      ['group', 'count', 'bytes'],
      rows.map(([k, t]) => [k, t.count, t.bytes]),
    );
    return;
  }
  const b = tallies(second);
  const per = intFlag('per', values.per, 1);
  const keys = new Set([...a.byKey.keys(), ...b.byKey.keys()]);
  const rows = [...keys]
    .map((k) => {
      const x = a.byKey.get(k) ?? { count: 0, bytes: 0 };
      const y = b.byKey.get(k) ?? { count: 0, bytes: 0 };
      return { k, count: y.count - x.count, bytes: y.bytes - x.bytes };
    })
    .sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes))
    .slice(0, top);
  const dBytes = b.total.bytes - a.total.bytes;
  printTable(
    `${second} − ${first}: ${(b.total.count - a.total.count).toLocaleString('en-US')} objects, ${(dBytes / 2 ** 20).toFixed(2)} MiB` +
      (per > 1 ? `; per item (÷ ${per}): ${((b.total.count - a.total.count) / per).toFixed(1)} objects, ${(dBytes / per).toFixed(0)} B` : ''),
    ['group', 'Δ count', 'Δ bytes', ...(per > 1 ? ['count / item', 'bytes / item'] : [])],
    rows.map((r) => [r.k, r.count, r.bytes, ...(per > 1 ? [r.count / per, r.bytes / per] : [])]),
  );
}

// Run as a command, not when imported (bench/memory.ts uses `tallies`).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
