import type { CompiledCondition } from './condition.js';
import type { Pattern } from './pattern.js';
import type { PrincipalEntry } from './policy-principal.js';

/**
 * A policy document after `parsePolicy`: validated once, with every pattern and condition
 * compiled, ready to be evaluated per request.
 *
 * Kinds: `resource` (a key policy, a VPC endpoint policy: statements name a Principal) and
 * `identity` (IAM user / role / group policies, service control policies: no Principal).
 */
export type PolicyKind = 'resource' | 'identity';

export type Effect = 'Allow' | 'Deny';

export interface CompiledStatement {
  /** 1-based position in the Statement list. */
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  /** Principal / NotPrincipal; undefined in identity policies. */
  readonly principal: { readonly not: boolean; readonly entries: readonly PrincipalEntry[] } | undefined;
  /** Action / NotAction; undefined when the statement has neither (it then matches nothing). */
  readonly action: { readonly not: boolean; readonly patterns: readonly Pattern[] } | undefined;
  /** Resource / NotResource; undefined when the statement has neither (it then matches nothing). */
  readonly resource: { readonly not: boolean; readonly patterns: readonly Pattern[] } | undefined;
  readonly conditions: readonly CompiledCondition[];
}

export interface CompiledPolicy {
  /** The name the trace uses: the caller's (e.g. `key-policy`, `iam:user/alice/inline/p1`), else the document's Id. */
  readonly id: string;
  readonly kind: PolicyKind;
  readonly version: '2012-10-17' | '2008-10-17';
  readonly statements: readonly CompiledStatement[];
  /** Case-folded names of every condition key a decision on this policy can depend on. */
  readonly referencedKeys: ReadonlySet<string>;
  /** SHA-256 (hex, 32 chars) of the document text: identifies this version for caches. */
  readonly fingerprint: string;
}
