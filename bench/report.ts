import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';
import type { TargetName } from './servers.js';

/** The printed table, the loud error report and the JSON results file. */
export interface Row {
  operation: string;
  concurrency: number;
  /** Trent as a user starts it: the default start (`defaultWorkers`, src/server/settings.ts). */
  trent?: LoadResult;
  /** Trent from another checkout (`--b-root`): the B of an A/B, reported by abReport, not in the table. */
  trentB?: LoadResult;
  /** Trent with `--workers 1`: one process (not in the table; in the JSON and the noise report). */
  trent1?: LoadResult;
  /** Trent with `--workers auto`: one worker per core. */
  trentN?: LoadResult;
  moto?: LoadResult;
  bare?: LoadResult;
  /** The bare limit on two processes. */
  bare2?: LoadResult;
  /**
   * With `--rounds N` above 1, every round's measurement by target, in the order taken; the
   * fields above then hold each target's median round (medianByRate).
   */
  rounds?: Partial<Record<TargetName, LoadResult[]>>;
}

/**
 * The round with the median requests/s (the lower of the two middle ones for an even count), whole:
 * its latencies and CPU figures come from the same measurement as its rate.
 */
export function medianByRate(results: readonly LoadResult[]): LoadResult {
  if (results.length === 0) throw new RangeError('no measurements');
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)] as LoadResult;
}

/** The median of some figures (the mean of the two middle ones for an even count; NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface Column {
  title: string;
  width: number;
  value(row: Row): string;
}

const COLUMNS: Column[] = [
  { title: 'operation', width: 16, value: (r) => r.operation },
  { title: 'conc', width: 4, value: (r) => String(r.concurrency) },
  { title: 'Trent r/s', width: 9, value: (r) => rate(r.trent) },
  { title: 'p50 ms', width: 6, value: (r) => ms(r.trent?.p50Ms) },
  { title: 'p99 ms', width: 6, value: (r) => ms(r.trent?.p99Ms) },
  { title: 'RSS MB', width: 6, value: (r) => mb(r.trent?.peakRssMb) },
  // Trent on one worker per core (--workers auto), and what that gains over the default start
  // while the load generator shares the cores (on two cores the default start is one process).
  { title: 'TxN r/s', width: 7, value: (r) => rate(r.trentN) },
  { title: 'TxN/T', width: 5, value: (r) => ratio(r.trentN, r.trent) },
  { title: 'moto r/s', width: 8, value: (r) => rate(r.moto) },
  { title: 'p99 ms', width: 6, value: (r) => ms(r.moto?.p99Ms) },
  { title: 'RSS MB', width: 6, value: (r) => mb(r.moto?.peakRssMb) },
  // The limit: the better of the bare server on one process and on one per core.
  { title: 'limit r/s', width: 9, value: (r) => rate(limit(r)) },
  { title: 'T/limit', width: 7, value: (r) => ratio(r.trent, limit(r)) },
  { title: 'T/moto', width: 7, value: (r) => ratio(r.trent, r.moto) },
  // CPU as % of one core over the timed phase, Trent/moto: which side is the bottleneck?
  { title: 'srv CPU%', width: 8, value: (r) => pair(r, (x) => x.serverCpuMs) },
  { title: 'cli CPU%', width: 8, value: (r) => pair(r, (x) => x.clientCpuMs) },
  // Trent's busiest event loop: below ~100% at a saturated server, it waited rather than computed.
  { title: 'T loop%', width: 7, value: (r) => loopPercent(r.trent) },
];

function loopPercent(result: LoadResult | undefined): string {
  if (result?.mainThreadCpuMs === undefined) return '-';
  return String(Math.round((result.mainThreadCpuMs / result.elapsedMs) * 100));
}

/** The better of the two bare-limit measurements of a row. */
export function limit(row: Row): LoadResult | undefined {
  if (row.bare === undefined || row.bare2 === undefined) return row.bare ?? row.bare2;
  return row.bare2.requestsPerSecond > row.bare.requestsPerSecond ? row.bare2 : row.bare;
}

export function formatTable(rows: Row[]): string {
  const columns = COLUMNS;
  // The first column is text, left-aligned; the others are figures.
  const pad = (cell: string, i: number) => {
    const width = columns[i]?.width ?? 0;
    return i === 0 ? cell.padEnd(width) : cell.padStart(width);
  };
  const line = (cells: string[]) => cells.map(pad).join(' ');
  const header = line(columns.map((c) => c.title));
  const body = rows.map((row) => line(columns.map((c) => c.value(row))));
  return [header, '-'.repeat(header.length), ...body].join('\n');
}

/**
 * Trent B against Trent (A), one line per row that measured both: the median of the rounds' ratios
 * of req/s (B over A; each round measures A and then B, a few seconds apart, so that the machine's
 * drift between rounds cancels out of each ratio), then every round's ratio and the two median
 * rounds' req/s and p99. Empty without B.
 */
export function abReport(rows: Row[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    const a = row.rounds?.trent ?? (row.trent === undefined ? [] : [row.trent]);
    const b = row.rounds?.trentB ?? (row.trentB === undefined ? [] : [row.trentB]);
    const ratios = a.flatMap((x, i) => {
      const y = b[i];
      return y === undefined || x.requestsPerSecond === 0 ? [] : [y.requestsPerSecond / x.requestsPerSecond];
    });
    if (ratios.length === 0) continue;
    const label = `${row.operation} c${row.concurrency}`;
    lines.push(
      `B/A ${label.padEnd(22)} ${median(ratios).toFixed(2)}x  (rounds ${ratios.map((r) => r.toFixed(2)).join(' ')}; ` +
        `A ${rate(row.trent)} req/s p99 ${ms(row.trent?.p99Ms)}, B ${rate(row.trentB)} req/s p99 ${ms(row.trentB?.p99Ms)})`,
    );
  }
  return lines.join('\n');
}

/** One paragraph per measurement that saw errors; empty when there were none. */
export function errorReport(rows: Row[]): string {
  const parts: string[] = [];
  for (const row of rows) {
    for (const [name, result, key] of results(row)) {
      // Every round counts: a failure in a round that is not the median one still fails the run.
      for (const measured of row.rounds?.[key] ?? (result === undefined ? [] : [result])) {
        if (measured.errors === 0) continue;
        parts.push(
          `${name} ${row.operation} at concurrency ${row.concurrency}: ` +
            `${measured.errors} of ${measured.requests} requests failed\n` +
            measured.errorSamples.map((s) => `    ${s}`).join('\n'),
        );
      }
    }
  }
  return parts.join('\n');
}

/**
 * Measurements during which other processes kept the machine busy, or the hypervisor withheld its
 * CPUs (steal), for more than `threshold` of one core on average: their figures measure the
 * neighbours as much as the servers.
 */
export function noiseReport(rows: Row[], threshold = 0.15): string {
  const lines: string[] = [];
  const share = (ms: number | undefined, result: LoadResult) => (ms === undefined ? 0 : ms / result.elapsedMs);
  for (const row of rows) {
    for (const [name, result] of results(row)) {
      if (result === undefined) continue;
      const causes = [
        { what: 'other processes', share: share(result.otherCpuMs, result) },
        { what: 'steal (the hypervisor)', share: share(result.stealCpuMs, result) },
      ].filter((c) => c.share > threshold);
      if (causes.length === 0) continue;
      const said = causes.map((c) => `${c.what} ${Math.round(c.share * 100)}% of a core`).join(', ');
      lines.push(`  ${name} ${row.operation} c=${row.concurrency}: ${said}`);
    }
  }
  return lines.join('\n');
}

/**
 * The rows whose latencies count more than the requests in flight, by Little's law: in a closed
 * loop at concurrency c, the mean latency times the rate cannot exceed c, unless some latencies
 * were counted from before the server could take the request. wrk opens its connections anew for
 * each measurement, and a busy Node server accepts one new connection a turn of its event loop
 * (libuv accepts one at a time since 1.45): at c64 the last connection's first request waits for
 * 63 turns — ~1 s for CreateKey on the VMs of docs/performance-log.md (twenty-second session) —
 * and wrk counts that wait as its latency. The p99 and max of such a row describe 64 connections
 * opened at once, not the server under steady load; the node client, which keeps the warm-up's
 * connections, does not see them. The threshold leaves room for wrk's own slack: its rows at c1,
 * where nothing waits, read up to 1.15× in the full runs of that session.
 */
export function rampReport(rows: Row[], threshold = 0.3): string {
  const lines: string[] = [];
  for (const row of rows) {
    for (const [name, result] of results(row)) {
      if (result === undefined || result.client !== 'wrk' || result.requests === 0) continue;
      const inFlight = (result.meanMs * result.requestsPerSecond) / 1000 / row.concurrency;
      if (inFlight <= 1 + threshold) continue;
      lines.push(
        `  ${name} ${row.operation} c=${row.concurrency}: mean latency × rate = ${inFlight.toFixed(2)}× the ` +
          `concurrency (p99 ${result.p99Ms.toFixed(1)} ms, max ${result.maxMs.toFixed(0)} ms)`,
      );
    }
  }
  return lines.join('\n');
}

function results(row: Row): [string, LoadResult | undefined, TargetName][] {
  return [
    ['Trent', row.trent, 'trent'],
    ['Trent B', row.trentB, 'trentB'],
    ['Trent 1 process', row.trent1, 'trent1'],
    ['Trent xN', row.trentN, 'trentN'],
    ['moto', row.moto, 'moto'],
    ['bare', row.bare, 'bare'],
    ['bare x2', row.bare2, 'bare2'],
  ];
}

export function writeResults(dir: string, startedAt: Date, document: object): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  return path;
}

// A trailing '!' marks a measurement with errors: its figures are not comparable.
function rate(result: LoadResult | undefined): string {
  if (result === undefined) return '-';
  return `${Math.round(result.requestsPerSecond)}${result.errors > 0 ? '!' : ''}`;
}

function ms(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function mb(value: number | undefined): string {
  return value === undefined ? '-' : String(Math.round(value));
}

function ratio(a: LoadResult | undefined, b: LoadResult | undefined): string {
  if (a === undefined || b === undefined || b.requestsPerSecond === 0) return '-';
  const r = a.requestsPerSecond / b.requestsPerSecond;
  return `${r < 1 ? r.toFixed(2) : r.toFixed(1)}x`;
}

function pair(row: Row, cpuMs: (result: LoadResult) => number | undefined): string {
  const percent = (result: LoadResult | undefined) => {
    const value = result === undefined ? undefined : cpuMs(result);
    if (value === undefined || result === undefined) return '-';
    return String(Math.round((value / result.elapsedMs) * 100));
  };
  return `${percent(row.trent)}/${percent(row.moto)}`;
}
