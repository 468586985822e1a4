/** Plain-text tables with aligned columns (numbers right-aligned), for terminal output and Markdown. */

export type Cell = string | number;

function text(cell: Cell): string {
  return typeof cell === 'number' ? formatNumber(cell) : cell;
}

/** Three significant digits below 100, integers with thousands separators above; "-" for NaN. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return '-';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  const abs = Math.abs(n);
  if (abs >= 100 || Number.isInteger(n)) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** A Markdown pipe table, columns padded so it also reads well as plain text. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((r) => r.map(text));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const widths = headers.map((h, c) => Math.max(h.length, ...cells.map((r) => (r[c] ?? '').length)));
  const line = (values: readonly string[]): string =>
    `| ${values.map((v, c) => (numeric[c] === true ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (numeric[c] === true ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...cells.map(line)].join('\n');
}
