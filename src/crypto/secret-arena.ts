/**
 * Small secrets (AES and HMAC key material, 16 to 64 bytes) held side by side in buffers of their
 * own, each secret a view of one. Holding 100,000 keys' material as a Buffer each would make
 * 100,000 ArrayBuffers for the garbage collector to track; slices of Node's shared allocation pool
 * would keep alive, and unzeroed, whatever else the pool handed out beside them (request bodies,
 * plaintexts). A chunk here holds secrets only.
 *
 * A released secret is zeroed and its place handed to the next secret of its length, so the arena
 * never holds more places than the most secrets held at once: keys created and destroyed for
 * months leave no chunks behind that one surviving key keeps alive.
 */
const CHUNK_BYTES = 16 * 1024;

export class SecretArena {
  #chunk: Buffer | undefined;
  #used = CHUNK_BYTES;
  /** Released places, zeroed, by length. */
  readonly #free = new Map<number, Buffer[]>();
  /** The places in #free: one released twice must not be handed out twice. */
  readonly #released = new WeakSet<Buffer>();

  /** A copy of `secret` in the arena; the caller still zeroes its own `secret`. */
  hold(secret: Buffer): Buffer {
    const reused = this.#free.get(secret.length)?.pop();
    if (reused !== undefined) this.#released.delete(reused);
    const view = reused ?? this.#place(secret.length);
    secret.copy(view);
    return view;
  }

  /**
   * Zeroes a held secret and takes its place back. Whoever released it must not read it again:
   * the place may hold another secret next.
   */
  release(view: Buffer): void {
    view.fill(0);
    if (this.#released.has(view)) return;
    this.#released.add(view);
    let free = this.#free.get(view.length);
    if (free === undefined) {
      free = [];
      this.#free.set(view.length, free);
    }
    free.push(view);
  }

  #place(length: number): Buffer {
    if (length > CHUNK_BYTES) throw new RangeError(`a secret of ${length} bytes is too large to hold`);
    if (this.#chunk === undefined || this.#used + length > CHUNK_BYTES) {
      // Buffer.alloc never takes from the shared pool (allocUnsafe does, for small sizes).
      this.#chunk = Buffer.alloc(CHUNK_BYTES);
      this.#used = 0;
    }
    const view = this.#chunk.subarray(this.#used, this.#used + length);
    this.#used += length;
    return view;
  }
}
