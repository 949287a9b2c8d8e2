import type { GrantRecord } from '../storage/grant-store.js';

/** A grant created (`added`) or retired or revoked (`removed`: its id). */
export type GrantChange = { added: GrantRecord } | { removed: string };

/**
 * Up to this many grants a key's are kept as one list and looked through; beyond, by id and by
 * grantee. Most keys with grants have a few, and a store may hold 100,000 such keys: two maps a key
 * cost ~470 bytes of heap against ~70 for a list (measured with one grant a key).
 */
const FEW = 32;

/**
 * One key's grants as the authorizer caches them, so that a decision looks at the caller's grants
 * only, and a grant token's grant is found by id. A key may hold 50,000 grants (reference §4.11); a
 * grant created or retired in this process changes the cached set in place (`add`, `remove`),
 * where reading every grant again costs tens of milliseconds.
 *
 * A key with more grants than the authorizer reads whole is held `partial`: only the grants of the
 * grantees read so far (`loaded`, `load`), each read from the store when a caller first needs it,
 * and the grants added since, by id. Reading 50,000 grants at a key's first use held the event
 * loop for 100–140 ms.
 *
 * Each grantee's grants are kept in grant id order, the order the store lists them in, so that a
 * caller's grants, and with them its decisions' cache key, do not depend on how the set was built.
 */
export class KeyGrants {
  /** A key's few grants, in grant id order; undefined once there are more (then `#many`). */
  #few: GrantRecord[] | undefined;
  #many: ManyGrants | undefined;
  /** Set when only some grantees' grants are held (`KeyGrants.partial`). */
  readonly partial: boolean;
  /** Counts the changes (`add`, `remove`): a grantee read before one is not `load`ed after it. */
  #changes = 0;

  /** `grants` in grant id order (as `GrantStore.listGrants` returns them). */
  constructor(grants: readonly GrantRecord[] = [], partial = false) {
    this.partial = partial;
    if (grants.length <= FEW && !partial) this.#few = [...grants];
    else this.#many = indexed(grants);
  }

  /** A key's grants with none of its grantees read yet. */
  static partial(): KeyGrants {
    return new KeyGrants([], true);
  }

  /** The grants held: all the key's, unless `partial`. */
  get size(): number {
    return this.#few?.length ?? this.#many?.byId.size ?? 0;
  }

  get changes(): number {
    return this.#changes;
  }

  /** Whether `of(principal)` is every grant of that grantee: always, unless `partial`. */
  loaded(principal: string): boolean {
    return !this.partial || this.#many?.byGrantee.has(principal) === true;
  }

  /**
   * Holds `grants` (in grant id order) as every grant of `principal`, read from the store when
   * `changes` was `changesAtRead`; a read that a change overtook is not held.
   */
  load(principal: string, grants: readonly GrantRecord[], changesAtRead: number): void {
    const many = this.#many;
    if (!this.partial || many === undefined || changesAtRead !== this.#changes) return;
    many.byGrantee.set(principal, [...grants]);
    for (const g of grants) many.byId.set(g.grantId, g);
  }

  has(grantId: string): boolean {
    return this.#few?.some((g) => g.grantId === grantId) ?? this.#many?.byId.has(grantId) ?? false;
  }

  /** The grants whose grantee is `principal` (an ARN), in grant id order. */
  of(principal: string): readonly GrantRecord[] {
    if (this.#few === undefined) return this.#many?.byGrantee.get(principal) ?? NONE;
    let found: GrantRecord[] | undefined;
    for (const g of this.#few) {
      if (g.granteePrincipal !== principal) continue;
      if (found === undefined) found = [g];
      else found.push(g);
    }
    return found ?? NONE;
  }

  /** Adds `grant`, or replaces the grant with its id (in a partial set, to its grantee once loaded). */
  add(grant: GrantRecord): void {
    this.remove(grant.grantId);
    const few = this.#few;
    if (few !== undefined && few.length < FEW) {
      few.splice(indexAfter(few, grant.grantId), 0, grant);
      return;
    }
    if (few !== undefined) this.#few = undefined;
    const many = this.#many ?? indexed(few ?? []);
    this.#many = many;
    many.byId.set(grant.grantId, grant);
    const list = many.byGrantee.get(grant.granteePrincipal);
    if (list !== undefined) list.splice(indexAfter(list, grant.grantId), 0, grant);
    else if (!this.partial) many.byGrantee.set(grant.granteePrincipal, [grant]);
  }

  remove(grantId: string): void {
    this.#changes++;
    const few = this.#few;
    if (few !== undefined) {
      const at = indexAfter(few, grantId);
      if (few[at]?.grantId === grantId) few.splice(at, 1);
      return;
    }
    const grant = this.#many?.byId.get(grantId);
    if (this.#many === undefined || grant === undefined) return;
    const { byId, byGrantee } = this.#many;
    byId.delete(grantId);
    const list = byGrantee.get(grant.granteePrincipal) ?? [];
    const at = indexAfter(list, grantId);
    if (list[at] === grant) list.splice(at, 1);
    // A partial set keeps a loaded grantee without grants: it is known to have none.
    if (list.length === 0 && !this.partial) byGrantee.delete(grant.granteePrincipal);
  }
}

/** `grants` (in grant id order) by id and by grantee. */
function indexed(grants: readonly GrantRecord[]): ManyGrants {
  const byId = new Map<string, GrantRecord>();
  const byGrantee = new Map<string, GrantRecord[]>();
  for (const g of grants) {
    byId.set(g.grantId, g);
    const list = byGrantee.get(g.granteePrincipal);
    if (list === undefined) byGrantee.set(g.granteePrincipal, [g]);
    else list.push(g);
  }
  return { byId, byGrantee };
}

interface ManyGrants {
  byId: Map<string, GrantRecord>;
  /** Each grantee's grants, in grant id order. */
  byGrantee: Map<string, GrantRecord[]>;
}

/** No grants: what `of` gives for a grantee without any, shared. */
export const NONE: readonly GrantRecord[] = Object.freeze([]);

/** Where a grant with id `grantId` goes in `list` (sorted by grant id): after every smaller id. */
function indexAfter(list: readonly GrantRecord[], grantId: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as GrantRecord).grantId < grantId) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
