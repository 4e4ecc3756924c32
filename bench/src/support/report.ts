/** One line of the table: a figure of anton beside its same-run baseline and its target. */
export interface Row {
  figure: string;
  unit: string;
  anton: number;
  baseline?: number;
  /** What the baseline is, when the row's figure does not say. */
  baselineName?: string;
  /** anton ÷ baseline. */
  ratio?: number;
  /** Shown as a percentage instead of a multiple. */
  ratioAsPercent?: boolean;
  target?: string;
  met?: boolean;
}

export interface FigureResult {
  id: string;
  title: string;
  rows: Row[];
  /** Everything measured, for the JSON file. */
  details: Record<string, unknown>;
  seconds: number;
  error?: string;
}

export function ratioOf(anton: number, baseline: number): number | undefined {
  return baseline === 0 || !Number.isFinite(baseline) ? undefined : anton / baseline;
}

function number(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function withUnit(value: number, unit: string): string {
  return unit ? `${number(value)} ${unit}` : number(value);
}

function ratioText(row: Row): string {
  if (row.ratio === undefined) return '';
  return row.ratioAsPercent ? `${(row.ratio * 100).toFixed(1)}%` : `${row.ratio.toFixed(2)}×`;
}

function cells(row: Row): string[] {
  const baseline =
    row.baseline === undefined
      ? ''
      : `${withUnit(row.baseline, row.unit)}${row.baselineName ? ` (${row.baselineName})` : ''}`;
  const met = row.met === undefined ? '' : row.met ? 'yes' : 'NO';
  return [row.figure, withUnit(row.anton, row.unit), baseline, ratioText(row), row.target ?? '', met];
}

/** The figures as a Markdown table (readable in a terminal, pasteable into docs/performance.md). */
export function markdownTable(figures: readonly FigureResult[]): string {
  const header = ['figure', 'anton', 'baseline', 'ratio', 'target', 'met?'];
  const lines: string[][] = [];
  for (const figure of figures) {
    if (figure.error) lines.push([`${figure.title}: FAILED`, figure.error.split('\n')[0] ?? '', '', '', '', '']);
    for (const row of figure.rows) lines.push(cells(row));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (l: string[]) => `| ${l.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}
