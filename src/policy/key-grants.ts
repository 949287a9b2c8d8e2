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
 * Each grantee's grants are kept in grant id order, the order the store lists them in, so that a
 * caller's grants, and with them its decisions' cache key, do not depend on how the set was built.
 */
export class KeyGrants {
  /** A key's few grants, in grant id order; undefined once there are more (then `#many`). */
  #few: GrantRecord[] | undefined;
  #many: ManyGrants | undefined;

  /** `grants` in grant id order (as `GrantStore.listGrants` returns them). */
  constructor(grants: readonly GrantRecord[] = []) {
    if (grants.length <= FEW) this.#few = [...grants];
    else this.#many = indexed(grants);
  }

  get size(): number {
    return this.#few?.length ?? this.#many?.byId.size ?? 0;
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

  /** Adds `grant`, or replaces the grant with its id. */
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
    if (list === undefined) many.byGrantee.set(grant.granteePrincipal, [grant]);
    else list.splice(indexAfter(list, grant.grantId), 0, grant);
  }

  remove(grantId: string): void {
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
    if (list.length === 0) byGrantee.delete(grant.granteePrincipal);
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

const NONE: readonly GrantRecord[] = Object.freeze([]);

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
