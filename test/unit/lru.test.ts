import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lru } from '../../src/lru.js';

describe('Lru', () => {
  it('holds at most its capacity, and at least the half most recently used', () => {
    const lru = new Lru<number, string>(10);
    for (let i = 0; i < 1000; i++) {
      lru.set(i, `v${i}`);
      assert.ok(lru.size <= 10, `size ${lru.size} after ${i + 1} sets`);
      for (let j = Math.max(0, i - 4); j <= i; j++) assert.equal(lru.get(j), `v${j}`, `entry ${j} after set ${i}`);
    }
  });

  it('keeps an entry that is used, however many others come and go', () => {
    const lru = new Lru<string, number>(4);
    lru.set('hot', 0);
    for (let i = 0; i < 100; i++) {
      lru.set(`cold${i}`, i);
      assert.equal(lru.get('hot'), 0);
    }
    assert.equal(lru.get('cold0'), undefined);
    assert.equal(lru.get('cold99'), 99);
  });

  it('replaces a value, deletes, clears', () => {
    const lru = new Lru<string, number>(6);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    lru.set('a', 10); // a is in the old generation by now
    assert.equal(lru.get('a'), 10);
    assert.equal(lru.size, 3);
    lru.delete('b');
    lru.delete('missing');
    assert.equal(lru.get('b'), undefined);
    assert.deepEqual(new Set(lru.entries().map(([k]) => k)), new Set(['a', 'c']));
    lru.clear();
    assert.equal(lru.size, 0);
    assert.equal(lru.get('a'), undefined);
  });

  it('entries can be deleted while iterating them', () => {
    const lru = new Lru<number, number>(100);
    for (let i = 0; i < 80; i++) lru.set(i, i);
    for (const [k] of lru.entries()) if (k % 2 === 0) lru.delete(k);
    assert.equal(lru.size, 40);
    assert.ok(lru.entries().every(([k]) => k % 2 === 1));
  });

  it('a capacity of 1 keeps the last entry', () => {
    const lru = new Lru<string, number>(1);
    lru.set('a', 1);
    assert.equal(lru.get('a'), 1);
    lru.set('b', 2);
    assert.equal(lru.get('b'), 2);
    assert.equal(lru.get('a'), undefined);
    assert.equal(lru.size, 1);
  });

  it('moves an entry out of the old generation under the key its value holds', () => {
    const moved: string[] = [];
    const lru = new Lru<string, { arn: string }>(6, {
      keyOf: (value) => {
        moved.push(value.arn);
        return value.arn;
      },
    });
    for (const arn of ['a', 'b', 'c']) lru.set(arn, { arn }); // a full young generation: now the old one
    lru.set('d', { arn: 'd' });
    assert.deepEqual(moved, []);
    // Looked up by an equal string made elsewhere, as a request's key id makes an ARN.
    assert.deepEqual(lru.get(['a'].join('')), { arn: 'a' });
    assert.deepEqual(moved, ['a']);
    // Now young: found again without moving.
    assert.deepEqual(lru.get('a'), { arn: 'a' });
    assert.deepEqual(moved, ['a']);
    assert.deepEqual(new Set(lru.entries().map(([k]) => k)), new Set(['a', 'b', 'c', 'd']));
  });

  it('tells of every value that leaves, and of none that stays or moves', () => {
    const left: string[] = [];
    const lru = new Lru<string, string>(6, { onLeave: (value) => left.push(value) });
    lru.set('a', 'a1');
    lru.set('a', 'a1'); // the same value again: it stays
    lru.set('a', 'a2'); // replaced in the young generation
    assert.deepEqual(left, ['a1']);
    lru.set('b', 'b1');
    lru.set('c', 'c1'); // the young generation is full: a, b, c are now the old one
    lru.set('b', 'b2'); // replaced in the old generation
    assert.deepEqual(left, ['a1', 'b1']);
    assert.equal(lru.get('a'), 'a2'); // moves to the young generation: does not leave
    lru.delete('c');
    lru.delete('missing');
    assert.deepEqual(left, ['a1', 'b1', 'c1']);
    lru.set('d', 'd1'); // b, a, d fill the young generation: the old one, now empty, is dropped
    lru.set('e', 'e1');
    lru.set('f', 'f1');
    lru.set('g', 'g1'); // e, f, g: the old one (b, a, d) is dropped whole
    assert.deepEqual(left.slice(3).sort(), ['a2', 'b2', 'd1']);
    lru.clear();
    assert.deepEqual(left.slice(6).sort(), ['e1', 'f1', 'g1']);
    assert.equal(lru.size, 0);
  });
});
