import { compileArnPattern } from './arn-pattern.js';
import { ipInBlock, parseIpAddress, parseIpBlock } from './ip-address.js';
import { compilePattern } from './pattern.js';
import type { ConditionValues } from './request-context.js';

/**
 * The condition operators of IAM (IAM User Guide, "IAM JSON policy elements: Condition operators").
 * Each base operator compiles one policy value into a test of one request value; negation,
 * `…IfExists` and the `ForAnyValue:` / `ForAllValues:` qualifiers are applied around it by
 * `compileCondition`.
 */
export type ValueTest = (requestValue: string, conditions: ConditionValues) => boolean;

export interface BaseOperator {
  readonly name: string;
  /** StringNotEquals, NotIpAddress, …: true when no policy value matches. */
  readonly negated: boolean;
  /** Whether `${…}` policy variables are substituted in the values (string and ARN operators). */
  readonly variables: boolean;
  /** Compiles one policy value, or returns a reason why it is not a valid value for the operator. */
  compile(policyValue: string, variables: boolean): ValueTest | { invalid: string };
}

function stringOperator(name: string, negated: boolean, wildcards: boolean, ignoreCase: boolean): BaseOperator {
  return {
    name,
    negated,
    variables: true,
    compile(value, variables) {
      const p = compilePattern(value, { wildcards, ignoreCase, variables });
      return (v, c) => p.matches(v, c);
    },
  };
}

function numericOperator(name: string, negated: boolean, compare: (request: number, policy: number) => boolean) {
  return {
    name,
    negated,
    variables: false,
    compile(value: string): ValueTest | { invalid: string } {
      const n = parseNumber(value);
      if (n === undefined) return { invalid: `"${value}" is not a number` };
      return (v: string) => {
        const r = parseNumber(v);
        return r !== undefined && compare(r, n);
      };
    },
  } satisfies BaseOperator;
}

function dateOperator(name: string, negated: boolean, compare: (request: number, policy: number) => boolean) {
  return {
    name,
    negated,
    variables: false,
    compile(value: string): ValueTest | { invalid: string } {
      const d = parseDate(value);
      if (d === undefined) return { invalid: `"${value}" is not an ISO 8601 date or an epoch time` };
      return (v: string) => {
        const r = parseDate(v);
        return r !== undefined && compare(r, d);
      };
    },
  } satisfies BaseOperator;
}

function arnOperator(name: string, negated: boolean): BaseOperator {
  return {
    name,
    negated,
    variables: true,
    compile(value, variables) {
      const p = compileArnPattern(value, { variables, shortArn: 'expand-if-wildcard' });
      return (v, c) => p.matches(v, c);
    },
  };
}

function ipOperator(name: string, negated: boolean): BaseOperator {
  return {
    name,
    negated,
    variables: false,
    compile(value) {
      const block = parseIpBlock(value);
      if (block === undefined) return { invalid: `"${value}" is not an IPv4 or IPv6 address or CIDR block` };
      return (v) => {
        const ip = parseIpAddress(v);
        return ip !== undefined && ipInBlock(ip, block);
      };
    },
  };
}

const eq = (a: number, b: number) => a === b;
const lt = (a: number, b: number) => a < b;
const le = (a: number, b: number) => a <= b;
const gt = (a: number, b: number) => a > b;
const ge = (a: number, b: number) => a >= b;

const OPERATORS: readonly BaseOperator[] = [
  stringOperator('StringEquals', false, false, false),
  stringOperator('StringNotEquals', true, false, false),
  stringOperator('StringEqualsIgnoreCase', false, false, true),
  stringOperator('StringNotEqualsIgnoreCase', true, false, true),
  stringOperator('StringLike', false, true, false),
  stringOperator('StringNotLike', true, true, false),
  numericOperator('NumericEquals', false, eq),
  numericOperator('NumericNotEquals', true, eq),
  numericOperator('NumericLessThan', false, lt),
  numericOperator('NumericLessThanEquals', false, le),
  numericOperator('NumericGreaterThan', false, gt),
  numericOperator('NumericGreaterThanEquals', false, ge),
  dateOperator('DateEquals', false, eq),
  dateOperator('DateNotEquals', true, eq),
  dateOperator('DateLessThan', false, lt),
  dateOperator('DateLessThanEquals', false, le),
  dateOperator('DateGreaterThan', false, gt),
  dateOperator('DateGreaterThanEquals', false, ge),
  {
    name: 'Bool',
    negated: false,
    variables: false,
    compile(value) {
      const b = value.toLowerCase();
      if (b !== 'true' && b !== 'false') return { invalid: `"${value}" is not true or false` };
      return (v) => v.toLowerCase() === b;
    },
  },
  {
    name: 'BinaryEquals',
    negated: false,
    variables: false,
    compile(value) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return { invalid: `"${value}" is not base64` };
      const bytes = Buffer.from(value, 'base64');
      return (v) => Buffer.from(v, 'base64').equals(bytes);
    },
  },
  ipOperator('IpAddress', false),
  ipOperator('NotIpAddress', true),
  arnOperator('ArnEquals', false),
  arnOperator('ArnLike', false),
  arnOperator('ArnNotEquals', true),
  arnOperator('ArnNotLike', true),
];

const BY_NAME = new Map(OPERATORS.map((o) => [o.name.toLowerCase(), o]));

/** The base operator named (case-insensitively), without qualifier or IfExists. */
export function baseOperator(name: string): BaseOperator | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export const OPERATOR_NAMES: readonly string[] = [...OPERATORS.map((o) => o.name), 'Null'];

function parseNumber(text: string): number | undefined {
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text.trim())) return undefined;
  return Number(text);
}

/** Milliseconds since the epoch from ISO 8601 (`2025-01-31`, `2025-01-31T12:00:00Z`) or epoch seconds. */
export function parseDate(text: string): number | undefined {
  const t = text.trim();
  if (/^-?\d+(?:\.\d+)?$/.test(t)) return Number(t) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/.test(t))
    return undefined;
  // A time without a zone is UTC, as in IAM (Date.parse would read it as local time).
  const zoned = /[T t]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/.test(t) ? `${t.replace(' ', 'T')}Z` : t;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : ms;
}
