/**
 * The lifecycle clock: deletion windows, rotation dates, import expiry, token ages. It is
 * injectable and can be moved forward (for tests and, later, admin time travel). SigV4's window and
 * the `Date` header never use it: they always use real time, so moving lifecycle time never breaks
 * signed requests.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export class SystemClock implements Clock {
  #offsetMs = 0;

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** How far lifecycle time is ahead of real time. */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Moves lifecycle time forward; never backward, so schedules stay monotonic. */
  advance(ms: number): void {
    if (ms < 0 || !Number.isFinite(ms)) throw new RangeError('The clock only moves forward.');
    this.#offsetMs += ms;
  }
}
