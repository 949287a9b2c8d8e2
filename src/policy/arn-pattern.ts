import { compilePattern, type Pattern } from './pattern.js';

/**
 * An ARN from a policy (a Resource entry, an ArnLike / ArnEquals value), matched as IAM does: the
 * six colon-separated parts — `arn:partition:service:region:account:resource` — are compared one
 * by one, each with `*` / `?` wildcards, case-sensitively; the resource part keeps any further
 * colons. A value that is not an ARN matches nothing.
 *
 * A pattern with fewer than six parts ("arn:aws:kms:*") has its missing parts read as `*` when it
 * contains a wildcard (or `shortArn: 'expand'`), and otherwise matches nothing — the behaviour of
 * IAM for resource-based policies.
 */
export interface ArnPatternOptions {
  variables: boolean;
  shortArn: 'expand' | 'expand-if-wildcard';
}

export function compileArnPattern(source: string, options: ArnPatternOptions): Pattern {
  if (source === '*') return { source, variables: [], matches: () => true };
  let parts = splitArn(source);
  if (parts === undefined) {
    const given = source.split(':');
    if (options.shortArn === 'expand-if-wildcard' && !source.includes('*')) return never(source);
    while (given.length < 6) given.push('*');
    parts = given;
  }
  const segments = parts.map((p) =>
    compilePattern(p, { wildcards: true, ignoreCase: false, variables: options.variables }),
  );
  return {
    source,
    variables: segments.flatMap((s) => s.variables),
    matches(value, conditions) {
      const got = splitArn(value);
      if (got === undefined) return false;
      for (let i = 0; i < 6; i++) {
        if (!(segments[i] as Pattern).matches(got[i] as string, conditions)) return false;
      }
      return true;
    },
  };
}

/** `arn:…` split into its six parts (the last keeps its colons), or undefined if it has fewer. */
export function splitArn(value: string): string[] | undefined {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 5; i++) {
    const at = value.indexOf(':', from);
    if (at < 0) return undefined;
    parts.push(value.slice(from, at));
    from = at + 1;
  }
  parts.push(value.slice(from));
  return parts;
}

function never(source: string): Pattern {
  return { source, variables: [], matches: () => false };
}
