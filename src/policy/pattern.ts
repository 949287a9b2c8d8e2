import { conditionKey } from './condition-keys.js';
import type { ConditionValues } from './request-context.js';

/**
 * A string from a policy compared against a request value: an action, a resource, a StringLike
 * or ArnLike value. Compiled once when the policy is parsed.
 *
 * - Wildcards (when enabled): `*` any run of characters, `?` exactly one.
 * - Policy variables (policies with Version 2012-10-17): `${aws:username}`, `${aws:PrincipalTag/x}`,
 *   `${key, 'default'}`, and the escapes `${*}`, `${?}`, `${$}` for a literal `*`, `?`, `$`.
 *   A variable whose key is missing (and has no default) or is multi-valued makes the pattern
 *   match nothing, as IAM does. Substituted text is matched literally — a `*` in a tag value is
 *   not a wildcard.
 */
export interface Pattern {
  readonly source: string;
  /** Case-folded names of the condition keys the pattern's variables read. */
  readonly variables: readonly string[];
  matches(value: string, conditions: ConditionValues): boolean;
}

export interface PatternOptions {
  wildcards: boolean;
  ignoreCase: boolean;
  variables: boolean;
}

type Part = { kind: 'text'; text: string } | { kind: 'variable'; key: string; fallback: string | undefined };

const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_BODY = /^\s*([A-Za-z0-9:/_.+=@,-]+)\s*(?:,\s*'([^']*)'\s*)?$/;

export function compilePattern(source: string, options: PatternOptions): Pattern {
  const parts = options.variables ? splitVariables(source) : [{ kind: 'text' as const, text: source }];
  const variables = parts.flatMap((p) => (p.kind === 'variable' ? [p.key] : []));
  if (variables.length === 0) {
    const text = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    return { source, variables, matches: literalMatcher(text, options) };
  }
  return {
    source,
    variables,
    matches(value, conditions) {
      let regex = '';
      for (const part of parts) {
        if (part.kind === 'text') {
          regex += toRegexSource(part.text, options.wildcards);
          continue;
        }
        const resolved = conditions.get(part.key);
        const text = typeof resolved === 'string' ? resolved : resolved === undefined ? part.fallback : undefined;
        if (text === undefined) return false;
        regex += escapeRegex(text);
      }
      return new RegExp(`^${regex}$`, options.ignoreCase ? 'is' : 's').test(value);
    },
  };
}

/**
 * Splits out `${...}` variables. The escapes `${*}`, `${?}`, `${$}` become text prefixed with NUL
 * (a character no policy can contain: the character check refuses it), which `toRegexSource`
 * reads as "the next character is a literal". Anything else in `${...}` is left as text.
 */
function splitVariables(source: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(VARIABLE)) {
    const body = m[1] ?? '';
    let part: Part | undefined;
    if (body === '*' || body === '?' || body === '$') {
      part = { kind: 'text', text: `\u0000${body}` };
    } else {
      const v = VARIABLE_BODY.exec(body);
      if (v !== null) part = { kind: 'variable', key: conditionKey(v[1] ?? ''), fallback: v[2] };
    }
    if (part === undefined) continue;
    if (m.index > last) parts.push({ kind: 'text', text: source.slice(last, m.index) });
    parts.push(part);
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  return parts;
}

function literalMatcher(text: string, options: PatternOptions): (value: string) => boolean {
  const hasWildcard = options.wildcards && /[*?]/.test(text);
  const plain = text.replaceAll('\u0000', '');
  if (!hasWildcard) {
    if (options.ignoreCase) {
      const folded = plain.toLowerCase();
      return (value) => value.toLowerCase() === folded;
    }
    return (value) => value === plain;
  }
  if (text === '*') return () => true;
  const regex = new RegExp(`^${toRegexSource(text, true)}$`, options.ignoreCase ? 'is' : 's');
  return (value) => regex.test(value);
}

function toRegexSource(text: string, wildcards: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\u0000') {
      // Next character is an escaped literal (from ${*}, ${?}, ${$}).
      i++;
      out += escapeRegex(text[i] ?? '');
    } else if (wildcards && c === '*') {
      out += '.*';
    } else if (wildcards && c === '?') {
      out += '.';
    } else {
      out += escapeRegex(c);
    }
  }
  return out;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
