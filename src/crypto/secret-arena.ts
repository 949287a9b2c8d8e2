/**
 * Small secrets (AES and HMAC key material, 16 to 64 bytes) held side by side in large buffers of
 * their own, each secret a view of one. Holding 100,000 keys' material as a Buffer each would make
 * 100,000 ArrayBuffers for the garbage collector to track; slices of Node's shared allocation pool
 * would keep alive, and unzeroed, whatever else the pool handed out beside them (request bodies,
 * plaintexts). A chunk here holds secrets only, and is freed by the collector once no view of it
 * is left.
 *
 * The holder of a view zeroes it when it lets it go (`release`); nothing here does that for it.
 */
const CHUNK_BYTES = 64 * 1024;

export class SecretArena {
  #chunk: Buffer | undefined;
  #used = CHUNK_BYTES;

  /** A copy of `secret` in the arena; the caller still zeroes its own `secret`. */
  hold(secret: Buffer): Buffer {
    if (secret.length > CHUNK_BYTES) throw new RangeError(`a secret of ${secret.length} bytes is too large to hold`);
    if (this.#chunk === undefined || this.#used + secret.length > CHUNK_BYTES) {
      // Buffer.alloc of more than half of Buffer.poolSize never comes from the shared pool.
      this.#chunk = Buffer.alloc(CHUNK_BYTES);
      this.#used = 0;
    }
    const view = this.#chunk.subarray(this.#used, this.#used + secret.length);
    secret.copy(view);
    this.#used += secret.length;
    return view;
  }
}

/** Zeroes a held secret: its bytes in the chunk are gone, whoever else still sees the chunk. */
export function release(view: Buffer): void {
  view.fill(0);
}
