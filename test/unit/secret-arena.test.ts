import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretArena } from '../../src/crypto/secret-arena.js';

describe('SecretArena', () => {
  it('holds copies side by side, in buffers that hold nothing else', () => {
    const arena = new SecretArena();
    const secrets = Array.from({ length: 5000 }, (_, i) => randomBytes(16 + (i % 49)));
    const held = secrets.map((secret) => arena.hold(secret));
    const chunks = new Set(held.map((view) => view.buffer));
    assert.ok(chunks.size > 1, 'more than one chunk');
    for (const [i, view] of held.entries()) {
      assert.deepEqual(view, secrets[i]);
      assert.notEqual(view.buffer, secrets[i]?.buffer, 'a copy');
      assert.ok(view.buffer.byteLength >= 16 * 1024, "a chunk of the arena's, not Node's shared pool");
    }
    // No two views overlap.
    for (const chunk of chunks) {
      const views = held.filter((view) => view.buffer === chunk).sort((a, b) => a.byteOffset - b.byteOffset);
      let end = 0;
      for (const view of views) {
        assert.ok(view.byteOffset >= end);
        end = view.byteOffset + view.length;
      }
    }
    const secret = secrets[42] as Buffer;
    secret.fill(7);
    assert.notDeepEqual(held[42], secret, 'zeroing or changing the original leaves the copy');
  });

  it('release zeroes a secret and only that secret', () => {
    const arena = new SecretArena();
    const a = arena.hold(Buffer.alloc(32, 1));
    const b = arena.hold(Buffer.alloc(32, 2));
    arena.release(a);
    assert.deepEqual(a, Buffer.alloc(32));
    assert.deepEqual(b, Buffer.alloc(32, 2));
    assert.deepEqual(Buffer.from(a.buffer, a.byteOffset, 64), Buffer.concat([Buffer.alloc(32), Buffer.alloc(32, 2)]));
  });

  it('hands a released place to the next secret of its length, once however often released', () => {
    const arena = new SecretArena();
    const a = arena.hold(Buffer.alloc(32, 1));
    arena.hold(Buffer.alloc(48, 2));
    arena.release(a);
    arena.release(a);
    const shorter = arena.hold(Buffer.alloc(16, 3));
    assert.notEqual(shorter.byteOffset, a.byteOffset, 'not a place of another length');
    const c = arena.hold(Buffer.alloc(32, 4));
    assert.equal(c, a, "a's place, reused");
    assert.deepEqual(c, Buffer.alloc(32, 4));
    const d = arena.hold(Buffer.alloc(32, 5));
    assert.notEqual(d.byteOffset, a.byteOffset, 'released twice, handed out once');
    assert.deepEqual(c, Buffer.alloc(32, 4));
  });

  it('keys made and dropped for long take no more places than were held at once', () => {
    const arena = new SecretArena();
    const chunks = new Set<ArrayBufferLike>();
    const survivors: { view: Buffer; bytes: Buffer }[] = [];
    for (let round = 0; round < 50; round++) {
      const bytes = randomBytes(32);
      const made = [arena.hold(bytes), ...Array.from({ length: 999 }, () => arena.hold(randomBytes(32)))];
      for (const view of made) chunks.add(view.buffer);
      // One of each round's secrets stays, beside the earlier rounds' survivors; the rest go.
      survivors.push({ view: made[0] as Buffer, bytes });
      for (const view of made.slice(1)) arena.release(view);
    }
    for (const { view, bytes } of survivors) assert.deepEqual(view, bytes, 'a survivor keeps its secret');
    assert.ok(chunks.size <= 3, `${chunks.size} chunks for at most 1,050 secrets at once`);
  });

  it('refuses a secret larger than a chunk', () => {
    assert.throws(() => new SecretArena().hold(Buffer.alloc(16 * 1024 + 1)), RangeError);
  });
});
