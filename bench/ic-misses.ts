import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * Property accesses in Trent's own code that miss V8's inline caches on (nearly) every request.
 *
 * Runs bench/request-path.js under `node --log-ic`, which logs every inline-cache miss, and counts
 * the misses of each property access in dist/src. A site that misses about once a request is one
 * whose objects get a new hidden class each time — on node 20, an object literal that opens with a
 * spread, `{ ...x, y }`, once its function is optimized (docs/performance-log.md, "Hidden classes on
 * the hot path"): a runtime call per access, and a stub cache filled with maps used once.
 *
 *   node dist/bench/ic-misses.js [--requests 4000] [--case 'Encrypt 1']
 *
 * Prints each site that missed on at least a fifth of the measured requests, and exits 1 if there
 * is one. A tool, not a benchmark: it measures no time.
 */

export interface MissSite {
  /** `LoadIC`, `KeyedLoadIC`, `StoreIC`, … */
  kind: string;
  /** The function, as V8 names its code: `name file:///…/dist/src/x.js:line:column`. */
  where: string;
  line: number;
  column: number;
  property: string;
  misses: number;
}

interface CodeRange {
  start: number;
  end: number;
  name: string;
}

/**
 * The misses of `--log-ic` output, by site, most first. A line of the log is
 * `LoadIC,<pc>,<time>,<line>,<column>,<old state>,<new state>,<map>,<key>,…`; the code objects'
 * `code-creation,<type>,<kind>,<time>,<start>,<size>,<name>[,…]` lines say which function a pc is in.
 */
export function missSites(log: string): MissSite[] {
  const codes: CodeRange[] = [];
  const misses: string[][] = [];
  for (const line of log.split('\n')) {
    const fields = line.split(',');
    if (fields[0] === 'code-creation' && fields.length >= 7) {
      const start = Number.parseInt(fields[4] as string, 16);
      const size = Number(fields[5]);
      // The name may hold commas of its own; V8 appends the SharedFunctionInfo and a state marker.
      const name = fields.slice(6, fields.length > 8 ? -2 : undefined).join(',');
      if (Number.isFinite(start) && Number.isFinite(size)) codes.push({ start, end: start + size, name });
    } else if ((fields[0] ?? '').endsWith('IC') && fields.length > 8) {
      misses.push(fields);
    }
  }
  codes.sort((a, b) => a.start - b.start);
  const bySite = new Map<string, MissSite>();
  for (const fields of misses) {
    const where = codeAt(codes, Number.parseInt(fields[1] as string, 16));
    const [kind, line, column, property] = [fields[0] as string, fields[3], fields[4], fields[8] as string];
    const id = `${kind} ${where} ${line}:${column} ${property}`;
    const known = bySite.get(id);
    if (known !== undefined) known.misses += 1;
    else bySite.set(id, { kind, where, line: Number(line), column: Number(column), property, misses: 1 });
  }
  return [...bySite.values()].sort((a, b) => b.misses - a.misses);
}

/** The name of the code object that holds `pc` (the last one created there, if several were). */
function codeAt(codes: readonly CodeRange[], pc: number): string {
  let lo = 0;
  let hi = codes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((codes[mid] as CodeRange).start <= pc) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // Code objects do not nest, but a later one may reuse the space of a freed one: look back a little.
  for (let i = found; i >= 0 && i > found - 64; i--) {
    const code = codes[i] as CodeRange;
    if (code.start <= pc && pc < code.end) return code.name;
  }
  return '?';
}

/** Runs request-path under `--log-ic` and returns the log of its main thread. */
export function logOfRequestPath(requests: number, onlyCase: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'trent-ic-'));
  try {
    const script = join(import.meta.dirname, 'request-path.js');
    const run = spawnSync(
      process.execPath,
      ['--log-ic', `--logfile=${join(dir, 'ic.log')}`, script, '--requests', String(requests), '--case', onlyCase],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
    );
    if (run.status !== 0) throw new Error(`request-path failed (${run.status}): ${run.stderr}`);
    // One log per isolate (the event loop's, and one per worker thread): the event loop's is the largest.
    const logs = readdirSync(dir).map((f) => join(dir, f));
    const largest = logs.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (largest === undefined) throw new Error('node --log-ic wrote no log');
    return readFileSync(largest, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sites of Trent's own code (dist/src) that missed at least `share` × `requests` times. */
export function perRequestMisses(sites: readonly MissSite[], requests: number, share = 0.2): MissSite[] {
  return sites.filter((s) => s.where.includes('/dist/src/') && s.misses >= requests * share);
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '4000' }, case: { type: 'string', default: '' } },
  });
  const requests = Number(values.requests);
  const log = logOfRequestPath(requests, values.case);
  const found = perRequestMisses(missSites(log), requests);
  for (const s of found) console.log(`${s.misses}\t${s.kind} ${s.property}\t${s.where} (line ${s.line}:${s.column})`);
  console.log(found.length === 0 ? 'no per-request misses in dist/src' : `${found.length} sites miss per request`);
  process.exit(found.length === 0 ? 0 : 1);
}
