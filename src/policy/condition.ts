import { conditionKey } from './condition-keys.js';
import { baseOperator, type ValueTest } from './condition-operators.js';
import type { ConditionValues } from './request-context.js';

/**
 * One `"Operator": { "key": values }` entry of a Condition block, compiled.
 *
 * IAM's semantics (IAM User Guide, "Condition operators" and "Multivalued context keys"):
 * - several values for one key: OR; several keys or operators: AND (done by the statement);
 * - key absent from the request: positive operators are false, negated operators
 *   (StringNotEquals, NotIpAddress, ArnNotLike, …) are true; `…IfExists` makes it true;
 * - `ForAnyValue:` — true if some request value satisfies the operator; false when the key is
 *   absent or empty; with a negated operator, true if some request value matches none of the
 *   policy values;
 * - `ForAllValues:` — true if every request value satisfies the operator, and true when the key is
 *   absent or empty; with a negated operator, true if no request value matches any policy value;
 * - `Null` — "true": the key is absent (or an empty set); "false": it is present.
 */
export type SetQualifier = 'ForAnyValue' | 'ForAllValues';

export interface ConditionTrace {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  /** The key as written in the policy. */
  readonly key: string;
  readonly policyValues: readonly string[];
  /** The request's value(s) for the key; undefined when absent. */
  readonly requestValues: readonly string[] | undefined;
  readonly result: boolean;
}

export interface CompiledCondition {
  readonly operator: string;
  readonly key: string;
  /** Case-folded key name. */
  readonly foldedKey: string;
  readonly policyValues: readonly string[];
  /** Case-folded names of every condition key the condition reads (its key and its variables). */
  readonly reads: readonly string[];
  evaluate(conditions: ConditionValues): boolean;
}

export type ConditionCompileResult = CompiledCondition | { invalid: string };

const QUALIFIER = /^(ForAnyValue|ForAllValues):/i;

export function compileCondition(
  operator: string,
  key: string,
  policyValues: readonly string[],
  variables: boolean,
): ConditionCompileResult {
  let name = operator;
  let qualifier: SetQualifier | undefined;
  const q = QUALIFIER.exec(name);
  if (q !== null) {
    qualifier = (q[1] as string).toLowerCase() === 'foranyvalue' ? 'ForAnyValue' : 'ForAllValues';
    name = name.slice(q[0].length);
  }
  let ifExists = false;
  if (/IfExists$/i.test(name) && name.length > 'IfExists'.length) {
    ifExists = true;
    name = name.slice(0, -'IfExists'.length);
  }
  const foldedKey = conditionKey(key);
  if (name.toLowerCase() === 'null') {
    if (ifExists || qualifier !== undefined) return { invalid: `condition operator "${operator}" is not valid` };
    const expected: boolean[] = [];
    for (const v of policyValues) {
      const b = v.toLowerCase();
      if (b !== 'true' && b !== 'false') return { invalid: `"${v}" is not true or false` };
      expected.push(b === 'true');
    }
    return {
      operator,
      key,
      foldedKey,
      policyValues,
      reads: [foldedKey],
      evaluate(conditions) {
        const absent = isAbsent(conditions.get(foldedKey));
        return expected.includes(absent);
      },
    };
  }
  const base = baseOperator(name);
  if (base === undefined) return { invalid: `unknown condition operator "${operator}"` };
  const tests: ValueTest[] = [];
  for (const v of policyValues) {
    const t = base.compile(v, variables && base.variables);
    if (typeof t !== 'function') return { invalid: `${t.invalid} (condition operator ${operator}, key ${key})` };
    tests.push(t);
  }
  const reads = [foldedKey];
  if (variables && base.variables) {
    for (const v of policyValues) {
      for (const m of v.matchAll(/\$\{\s*([A-Za-z0-9:/_.+=@,-]+)\s*(?:,[^}]*)?\}/g))
        reads.push(conditionKey(m[1] ?? ''));
    }
  }
  const { negated } = base;
  return {
    operator,
    key,
    foldedKey,
    policyValues,
    reads,
    evaluate(conditions) {
      const raw = conditions.get(foldedKey);
      if (isAbsent(raw)) {
        if (ifExists) return true;
        if (qualifier === 'ForAllValues') return true;
        if (qualifier === 'ForAnyValue') return false;
        return negated;
      }
      const values = typeof raw === 'string' ? [raw] : (raw as readonly string[]);
      const matchesAny = (value: string) => tests.some((t) => t(value, conditions));
      if (qualifier === 'ForAllValues') {
        return negated ? values.every((v) => !matchesAny(v)) : values.every(matchesAny);
      }
      if (qualifier === 'ForAnyValue') {
        return negated ? values.some((v) => !matchesAny(v)) : values.some(matchesAny);
      }
      return negated ? !values.some(matchesAny) : values.some(matchesAny);
    },
  };
}

function isAbsent(value: string | readonly string[] | undefined): boolean {
  return value === undefined || (typeof value !== 'string' && value.length === 0);
}

export function traceCondition(condition: CompiledCondition, conditions: ConditionValues): ConditionTrace {
  const raw = conditions.get(condition.foldedKey);
  return {
    operator: condition.operator,
    key: condition.key,
    policyValues: condition.policyValues,
    requestValues: raw === undefined ? undefined : typeof raw === 'string' ? [raw] : [...raw],
    result: condition.evaluate(conditions),
  };
}
