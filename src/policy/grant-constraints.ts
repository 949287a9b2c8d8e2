/**
 * Grants as inputs to the authorization flow, and their encryption context constraints
 * (reference §4.11): `EncryptionContextEquals` — the request's context must be exactly these
 * pairs; `EncryptionContextSubset` — it must contain these pairs (extra pairs allowed). Context
 * keys compare case-insensitively, values case-sensitively. Constraints do not apply to
 * DescribeKey and RetireGrant; for CreateGrant they bound the grant being created instead
 * (`childGrantWithin`).
 */
export interface GrantConstraints {
  readonly encryptionContextEquals?: Readonly<Record<string, string>> | undefined;
  readonly encryptionContextSubset?: Readonly<Record<string, string>> | undefined;
}

/** A grant on the key whose grantee the caller already is (the store matched it). */
export interface GrantInput {
  readonly grantId: string;
  /** Grant operation names: `Decrypt`, `Encrypt`, `ReEncryptFrom`, … */
  readonly operations: readonly string[];
  readonly constraints?: GrantConstraints | undefined;
  /**
   * The grantee is an account (`arn:aws:iam::<acct>:root`): the grant covers the identities of that
   * account whose IAM policies allow the action (reference §4.10, [infer]).
   */
  readonly granteeIsAccount?: boolean | undefined;
}

/** The grant a CreateGrant request would create, as the grant that allows CreateGrant judges it. */
export interface ChildGrant {
  readonly operations: readonly string[];
  readonly constraints?: GrantConstraints | undefined;
}

export type GrantOutcome = 'allows' | 'operation-not-granted' | 'constraint-not-met' | 'child-grant-exceeds-grant';

const UNCONSTRAINED_OPERATIONS = new Set(['DescribeKey', 'RetireGrant']);

/**
 * Whether `grant` allows `operation`. For CreateGrant, `childGrant` is the grant being created: it
 * must stay within this one (`childGrantWithin`).
 */
export function grantOutcome(
  grant: GrantInput,
  operation: string,
  encryptionContext: Readonly<Record<string, string>> | undefined,
  childGrant?: ChildGrant,
): GrantOutcome {
  if (!grant.operations.includes(operation)) return 'operation-not-granted';
  if (UNCONSTRAINED_OPERATIONS.has(operation)) return 'allows';
  if (operation === 'CreateGrant' && childGrant !== undefined) {
    return childGrantWithin(grant, childGrant) ? 'allows' : 'child-grant-exceeds-grant';
  }
  return encryptionContextSatisfies(grant.constraints, encryptionContext) ? 'allows' : 'constraint-not-met';
}

/**
 * A principal that has CreateGrant from a grant, not from a policy, may create only grants within
 * it (AWS KMS Developer Guide, "Granting CreateGrant permission"): some or all of its operations,
 * and constraints at least as strict — every encryption context the child accepts, the parent
 * accepts too. So a parent's EncryptionContextSubset may gain pairs or become an
 * EncryptionContextEquals that contains them; a parent's EncryptionContextEquals must stay the
 * same EncryptionContextEquals; an unconstrained parent allows any constraints.
 */
export function childGrantWithin(parent: GrantInput, child: ChildGrant): boolean {
  if (!child.operations.every((op) => parent.operations.includes(op))) return false;
  const parentEquals = parent.constraints?.encryptionContextEquals;
  const parentSubset = parent.constraints?.encryptionContextSubset;
  if (parentEquals === undefined && parentSubset === undefined) return true;
  const childEquals = child.constraints?.encryptionContextEquals;
  const childSubset = child.constraints?.encryptionContextSubset;
  // The pairs every context the child accepts has; `exact` when it accepts only that context.
  const floor = childEquals ?? childSubset;
  if (floor === undefined) return false;
  const pairs = foldKeys(floor);
  if (pairs === undefined) return false;
  const exact = childEquals !== undefined;
  if (parentEquals !== undefined) {
    const wanted = foldKeys(parentEquals);
    if (!exact || wanted === undefined || !samePairs(pairs, wanted)) return false;
  }
  if (parentSubset !== undefined) {
    const wanted = foldKeys(parentSubset);
    if (wanted === undefined || !containsPairs(pairs, wanted)) return false;
  }
  return true;
}

function containsPairs(have: ReadonlyMap<string, string>, wanted: ReadonlyMap<string, string>): boolean {
  for (const [k, v] of wanted) if (have.get(k) !== v) return false;
  return true;
}

function samePairs(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && containsPairs(a, b);
}

export function encryptionContextSatisfies(
  constraints: GrantConstraints | undefined,
  encryptionContext: Readonly<Record<string, string>> | undefined,
): boolean {
  const equals = constraints?.encryptionContextEquals;
  const subset = constraints?.encryptionContextSubset;
  if (equals === undefined && subset === undefined) return true;
  const request = foldKeys(encryptionContext ?? {});
  if (request === undefined) return false;
  if (equals !== undefined) {
    const wanted = foldKeys(equals);
    if (wanted === undefined || wanted.size !== request.size) return false;
    for (const [k, v] of wanted) if (request.get(k) !== v) return false;
  }
  if (subset !== undefined) {
    const wanted = foldKeys(subset);
    if (wanted === undefined) return false;
    for (const [k, v] of wanted) if (request.get(k) !== v) return false;
  }
  return true;
}

/** Keys case-folded; undefined when two keys differ only by case (then no constraint can be judged). */
function foldKeys(context: Readonly<Record<string, string>>): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(context)) {
    const folded = k.toLowerCase();
    if (out.has(folded)) return undefined;
    out.set(folded, v);
  }
  return out;
}
