import { hash } from 'node:crypto';

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/**
 * HMAC-SHA256 (RFC 2104) under one key used many times — SigV4's derived signing key — as two
 * one-shot SHA-256 calls over the key's pads, computed once.
 *
 * Not `createHmac`, for the garbage collector's sake: each `createHmac` makes a native object that
 * only a young-generation collection frees, in its pass over the embedder's weak handles, so every
 * pause stops the event loop longer the more requests came before it. In a loop keeping 500
 * requests' worth of objects alive, pauses were 6.0 ms (median) with `createHmac` and 0.6 ms
 * without, at the same speed per call (docs/performance-log.md, eighth session).
 */
export class HmacSha256 {
  readonly #innerPad = Buffer.alloc(BLOCK_BYTES);
  readonly #outerPad = Buffer.alloc(BLOCK_BYTES);

  constructor(key: Uint8Array) {
    // RFC 2104: a key longer than the block is hashed first; a shorter one is padded with zeros.
    const block = Buffer.alloc(BLOCK_BYTES);
    block.set(key.length > BLOCK_BYTES ? hash('sha256', key, 'buffer') : key);
    for (let i = 0; i < BLOCK_BYTES; i++) {
      this.#innerPad[i] = (block[i] as number) ^ 0x36;
      this.#outerPad[i] = (block[i] as number) ^ 0x5c;
    }
    block.fill(0);
  }

  /** Lower-case hex HMAC of `message` taken as UTF-8. */
  hex(message: string): string {
    const length = Buffer.byteLength(message, 'utf8');
    const inner = Buffer.allocUnsafe(BLOCK_BYTES + length);
    this.#innerPad.copy(inner, 0);
    inner.write(message, BLOCK_BYTES, length, 'utf8');
    const outer = Buffer.allocUnsafe(BLOCK_BYTES + DIGEST_BYTES);
    this.#outerPad.copy(outer, 0);
    // The inner digest as a 'binary' (latin1) string, one character a byte, not a Buffer: a Buffer from
    // node's C++ is an ArrayBuffer of its own, 1–3 µs to make and free on this VM
    // (docs/performance-log.md, tenth session), where a string is a V8 heap object.
    outer.write(hash('sha256', inner, 'binary'), BLOCK_BYTES, DIGEST_BYTES, 'latin1');
    return hash('sha256', outer, 'hex');
  }
}
