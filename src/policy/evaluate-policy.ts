import { type ConditionTrace, traceCondition } from './condition.js';
import type { CompiledPolicy, CompiledStatement, Effect } from './policy.js';
import { matchPrincipal, type PrincipalMatch } from './policy-principal.js';
import type { RequestContext } from './request-context.js';

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** Why one statement did or did not apply to the request. */
export interface StatementTrace {
  readonly policy: string;
  readonly statement: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  readonly applies: boolean;
  /**
   * The first element that failed (elements are checked in this order and the rest skipped), or
   * undefined when the statement applies.
   */
  readonly failed: 'action' | 'resource' | 'principal' | 'condition' | undefined;
  /** How the principal matched (resource-based policies), when it was checked and matched. */
  readonly principalMatch: PrincipalMatch | undefined;
  /** The conditions evaluated, up to and including the first false one. */
  readonly conditions: readonly ConditionTrace[];
}

export interface PolicyEvaluation {
  readonly policy: string;
  readonly decision: Decision;
  /** Every statement, in order. */
  readonly statements: readonly StatementTrace[];
}

/**
 * Evaluates one policy against a request: an applying Deny statement → ExplicitDeny; else an
 * applying Allow → Allow; else ImplicitDeny. Statements of a resource-based policy also check the
 * principal; `allowMatch()` says how the principal of the allowing statements matched (a key
 * policy statement naming the account delegates to IAM, naming the principal does not).
 */
export function evaluatePolicy(policy: CompiledPolicy, request: RequestContext): PolicyEvaluation {
  const statements = policy.statements.map((s) => evaluateStatement(policy.id, s, request));
  let decision: Decision = 'ImplicitDeny';
  for (const s of statements) {
    if (!s.applies) continue;
    if (s.effect === 'Deny') {
      decision = 'ExplicitDeny';
      break;
    }
    decision = 'Allow';
  }
  return { policy: policy.id, decision, statements };
}

/** The strongest principal match among the Allow statements that apply (`principal` > `any` > `account`). */
export function allowMatch(evaluation: PolicyEvaluation): PrincipalMatch | undefined {
  let best: PrincipalMatch | undefined;
  for (const s of evaluation.statements) {
    if (!s.applies || s.effect !== 'Allow') continue;
    const m = s.principalMatch ?? 'principal';
    if (m === 'principal') return m;
    if (m === 'any' || best === undefined) best = m;
  }
  return best;
}

function evaluateStatement(policy: string, s: CompiledStatement, request: RequestContext): StatementTrace {
  const base = { policy, statement: s.index, sid: s.sid, effect: s.effect };
  const miss = (
    failed: StatementTrace['failed'],
    principalMatch?: PrincipalMatch,
    conditions: ConditionTrace[] = [],
  ) => ({
    ...base,
    applies: false,
    failed,
    principalMatch,
    conditions,
  });
  const { action, resource, principal } = s;
  if (action === undefined) return miss('action');
  if (action.patterns.some((p) => p.matches(request.action, request.conditions)) === action.not) return miss('action');
  if (resource === undefined) return miss('resource');
  if (resource.patterns.some((p) => p.matches(request.resource, request.conditions)) === resource.not) {
    return miss('resource');
  }
  let principalMatch: PrincipalMatch | undefined;
  if (principal !== undefined) {
    const m = matchPrincipal(principal.entries, request.principal);
    if (principal.not) {
      if (m !== undefined) return miss('principal');
      principalMatch = 'any';
    } else {
      if (m === undefined) return miss('principal');
      principalMatch = m;
    }
  }
  const conditions: ConditionTrace[] = [];
  for (const c of s.conditions) {
    const t = traceCondition(c, request.conditions);
    conditions.push(t);
    if (!t.result) return miss('condition', principalMatch, conditions);
  }
  return { ...base, applies: true, failed: undefined, principalMatch, conditions };
}
