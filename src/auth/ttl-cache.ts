/**
 * Answers kept for a short while, by key: what the store said about a credential, found or not, so
 * that authentication reads the store at most once per key per `ttlMs`. Bounded: when full it
 * starts again empty (credentials are few; a flood of unknown ids must not grow it).
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** The value kept for `key`, or `load(key)`'s, then kept. */
  async get(key: string, load: (key: string) => Promise<V>): Promise<V> {
    const now = Date.now();
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.expires > now) return cached.value;
    const value = await load(key);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, expires: now + this.ttlMs });
    return value;
  }
}
