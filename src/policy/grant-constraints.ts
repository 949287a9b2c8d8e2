/**
 * Grants as inputs to the authorization flow, and their encryption context constraints
 * (reference §4.11): `EncryptionContextEquals` — the request's context must be exactly these
 * pairs; `EncryptionContextSubset` — it must contain these pairs (extra pairs allowed). Context
 * keys compare case-insensitively, values case-sensitively. Constraints do not apply to
 * DescribeKey and RetireGrant.
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

export type GrantOutcome = 'allows' | 'operation-not-granted' | 'constraint-not-met';

const UNCONSTRAINED_OPERATIONS = new Set(['DescribeKey', 'RetireGrant']);

export function grantOutcome(
  grant: GrantInput,
  operation: string,
  encryptionContext: Readonly<Record<string, string>> | undefined,
): GrantOutcome {
  if (!grant.operations.includes(operation)) return 'operation-not-granted';
  if (UNCONSTRAINED_OPERATIONS.has(operation)) return 'allows';
  return encryptionContextSatisfies(grant.constraints, encryptionContext) ? 'allows' : 'constraint-not-met';
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
