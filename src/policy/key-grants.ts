import type { GrantRecord } from '../storage/grant-store.js';

/** A grant created (`added`) or retired or revoked (`removed`: its id). */
export type GrantChange = { added: GrantRecord } | { removed: string };

/**
 * One key's grants as the authorizer caches them: by grantee principal, so that a decision looks
 * at the caller's grants only, and by id, for the grants that grant tokens name. A key may hold
 * 50,000 grants (reference §4.11); a grant created or retired in this process changes the cached
 * set in place (`add`, `remove`), where reading every grant again costs tens of milliseconds.
 *
 * Each grantee's grants are kept in grant id order, the order the store lists them in, so that a
 * caller's grants, and with them its decisions' cache key, do not depend on how the set was built.
 */
export class KeyGrants {
  readonly #byId = new Map<string, GrantRecord>();
  readonly #byGrantee = new Map<string, GrantRecord[]>();

  /** `grants` in grant id order (as `GrantStore.listGrants` returns them). */
  constructor(grants: readonly GrantRecord[] = []) {
    for (const g of grants) {
      this.#byId.set(g.grantId, g);
      const list = this.#byGrantee.get(g.granteePrincipal);
      if (list === undefined) this.#byGrantee.set(g.granteePrincipal, [g]);
      else list.push(g);
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  has(grantId: string): boolean {
    return this.#byId.has(grantId);
  }

  /** The grants whose grantee is `principal` (an ARN), in grant id order. */
  of(principal: string): readonly GrantRecord[] {
    return this.#byGrantee.get(principal) ?? NONE;
  }

  /** Adds `grant`, or replaces the grant with its id. */
  add(grant: GrantRecord): void {
    this.remove(grant.grantId);
    this.#byId.set(grant.grantId, grant);
    const list = this.#byGrantee.get(grant.granteePrincipal);
    if (list === undefined) this.#byGrantee.set(grant.granteePrincipal, [grant]);
    else list.splice(indexAfter(list, grant.grantId), 0, grant);
  }

  remove(grantId: string): void {
    const grant = this.#byId.get(grantId);
    if (grant === undefined) return;
    this.#byId.delete(grantId);
    const list = this.#byGrantee.get(grant.granteePrincipal) ?? [];
    const at = indexAfter(list, grantId);
    if (list[at] === grant) list.splice(at, 1);
    if (list.length === 0) this.#byGrantee.delete(grant.granteePrincipal);
  }
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
