import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { release, SecretArena } from '../../src/crypto/secret-arena.js';

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
      assert.ok(view.buffer.byteLength >= 64 * 1024, "a chunk of the arena's, not Node's shared pool");
    }
    // No two views overlap, and a chunk holds nothing but the secrets held in it.
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
    release(a);
    assert.deepEqual(a, Buffer.alloc(32));
    assert.deepEqual(b, Buffer.alloc(32, 2));
    const whole = Buffer.from(a.buffer, a.byteOffset, 64);
    assert.deepEqual(whole, Buffer.concat([Buffer.alloc(32), Buffer.alloc(32, 2)]));
  });

  it('refuses a secret larger than a chunk', () => {
    assert.throws(() => new SecretArena().hold(Buffer.alloc(64 * 1024 + 1)), RangeError);
  });
});
