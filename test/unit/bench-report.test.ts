import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadResult } from '../../bench/load.js';
import { abReport, errorReport, formatTable, median, medianByRate, type Row, rampReport } from '../../bench/report.js';

function result(requestsPerSecond: number, errors = 0): LoadResult {
  return {
    client: 'wrk',
    requests: requestsPerSecond * 4,
    errors,
    errorSamples: errors > 0 ? ['500 {"__type":"KMSInternalException"}'] : [],
    elapsedMs: 4000,
    requestsPerSecond,
    p50Ms: 1000 / requestsPerSecond,
    p99Ms: 3000 / requestsPerSecond,
    p999Ms: 5000 / requestsPerSecond,
    maxMs: 9000 / requestsPerSecond,
    meanMs: 1100 / requestsPerSecond,
    clientCpuMs: 1000,
    serverCpuMs: 3000,
    mainThreadCpuMs: 2800,
    peakRssMb: 100,
    otherCpuMs: 0,
    interruptCpuMs: 0,
    stealCpuMs: 0,
  };
}

describe('bench report: rounds', () => {
  it('takes the median round whole, the lower middle one for an even count', () => {
    const rounds = [result(500), result(300), result(900), result(400), result(700)];
    assert.equal(medianByRate(rounds), rounds[0]);
    assert.equal(medianByRate([result(10), result(30), result(20), result(40)]).requestsPerSecond, 20);
    assert.equal(medianByRate([result(7)]).requestsPerSecond, 7);
    assert.throws(() => medianByRate([]), RangeError);
  });

  it('reports a failed request in any round, not only in the median one', () => {
    const trent = [result(500), result(300, 2), result(900)];
    const row: Row = { operation: 'Encrypt 1 KiB', concurrency: 16, trent: medianByRate(trent), rounds: { trent } };
    assert.equal(row.trent?.errors, 0);
    assert.match(errorReport([row]), /Trent Encrypt 1 KiB at concurrency 16: 2 of 1200 requests failed/);
    assert.equal(errorReport([{ ...row, rounds: { trent: [result(500), result(900)] } }]), '');
  });

  it('prints the median rounds in the table', () => {
    const trent = [result(5000), result(3000), result(4000)];
    const moto = [result(200), result(100), result(300)];
    const table = formatTable([
      {
        operation: 'Encrypt 1 KiB',
        concurrency: 16,
        trent: medianByRate(trent),
        moto: medianByRate(moto),
        rounds: { trent, moto },
      },
    ]);
    assert.match(table, /Encrypt 1 KiB\s+16\s+4000\b/);
    assert.match(table, /\b20\.0x\b/);
    // The median round's event loop: 2,800 ms of CPU over 4,000 ms.
    assert.match(table, /\b70$/m);
  });
});

describe('bench report: median', () => {
  it('is the middle figure, the mean of the two middle ones for an even count, NaN for none', () => {
    assert.equal(median([0.81, 0.64, 0.83, 0.77, 0.8]), 0.8);
    assert.equal(median([0.76, 0.71, 0.72, 0.9]), 0.74);
    assert.equal(median([3]), 3);
    assert.ok(Number.isNaN(median([])));
  });
});

describe('bench report: A/B of two checkouts', () => {
  it('reports the median of the rounds ratios, each round B over the A measured just before it', () => {
    // A drifts from 3,000 to 6,000 req/s between rounds; B is 10%, 20% and 5% faster in its round.
    const trent = [result(3000), result(6000), result(4000)];
    const trentB = [result(3300), result(7200), result(4200)];
    const row: Row = {
      operation: 'Encrypt 1 KiB',
      concurrency: 16,
      trent: medianByRate(trent),
      trentB: medianByRate(trentB),
      rounds: { trent, trentB },
    };
    const report = abReport([row]);
    assert.match(report, /^B\/A Encrypt 1 KiB c16 +1\.10x {2}\(rounds 1\.10 1\.20 1\.05; A 4000 req\/s/);
    assert.match(report, /B 4200 req\/s/);
  });

  it('says nothing of rows without B', () => {
    assert.equal(abReport([{ operation: 'Encrypt 1 KiB', concurrency: 16, trent: result(4000) }]), '');
  });
});

describe('bench report: waits for new connections', () => {
  // result(r) has a mean of 1.1 / r s: 1.1 requests in flight at rate r, at concurrency 1.
  it('names a wrk row whose latencies add up to more requests in flight than the concurrency', () => {
    const steady: Row = { operation: 'Encrypt 1 KiB', concurrency: 1, trent: result(500) };
    assert.equal(rampReport([steady]), '');
    const ramped: Row = { operation: 'CreateKey', concurrency: 64, trent: { ...result(1500), meanMs: 71 } };
    assert.match(
      rampReport([steady, ramped]),
      /^ {2}Trent CreateKey c=64: mean latency × rate = 1\.66× the concurrency/,
    );
    assert.doesNotMatch(rampReport([ramped]), /Encrypt/);
  });

  it('leaves out the node client, which keeps its connections, and a row with no requests', () => {
    const node: Row = {
      operation: 'CreateKey',
      concurrency: 64,
      trent: { ...result(1500), meanMs: 71, client: 'node' },
    };
    assert.equal(rampReport([node]), '');
    const none: Row = { operation: 'CreateKey', concurrency: 64, trent: { ...result(0), requests: 0, meanMs: 71 } };
    assert.equal(rampReport([none]), '');
  });
});
