import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomIv } from '../../src/crypto/iv-pool.js';

describe('randomIv', () => {
  it('hands out fresh bytes every time, across pool refills, as buffers of their own', () => {
    const seen = new Set<string>();
    // 12-byte IVs across several 4 KiB refills, plus odd lengths that straddle a refill.
    for (let i = 0; i < 5000; i++) {
      const iv = randomIv(i % 7 === 0 ? 13 : 12);
      assert.equal(iv.length, i % 7 === 0 ? 13 : 12);
      const hex = iv.toString('hex');
      assert.ok(!seen.has(hex), `IV ${hex} handed out twice`);
      seen.add(hex);
    }
    const a = randomIv(12);
    const copy = Buffer.from(a);
    for (let i = 0; i < 1000; i++) randomIv(12);
    assert.deepEqual(a, copy, 'a refill must not change an IV already handed out');
  });

  it('looks uniformly random: every byte value turns up, none far too often', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 20_000; i++) for (const b of randomIv(12)) counts[b] = (counts[b] ?? 0) + 1;
    // 240,000 bytes: ~937 per value; a stuck or zeroed pool would fail this by far.
    assert.ok(Math.min(...counts) > 700, `min ${Math.min(...counts)}`);
    assert.ok(Math.max(...counts) < 1200, `max ${Math.max(...counts)}`);
  });

  it('refuses an IV longer than the pool', () => {
    assert.throws(() => randomIv(4097), RangeError);
  });
});
