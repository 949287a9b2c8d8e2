import { createHash } from 'node:crypto';
import { LimitExceededException, MalformedPolicyDocumentException } from '../errors.js';
import { compileArnPattern } from './arn-pattern.js';
import { type CompiledCondition, compileCondition } from './condition.js';
import { parseJson } from './parse-json.js';
import { compilePattern, type Pattern } from './pattern.js';
import type { CompiledPolicy, CompiledStatement, Effect, PolicyKind } from './policy.js';
import { awsPrincipalEntry, type PrincipalEntry, servicePrincipalEntry } from './policy-principal.js';

export interface ParsePolicyOptions {
  kind: PolicyKind;
  /** Name for traces; defaults to the document's Id, else `policy`. */
  id?: string;
  /** Size quota in UTF-8 bytes (key policies: 32768); over it → LimitExceededException. */
  maxBytes?: number;
  /**
   * Refuse characters outside tab, LF, CR and U+0020–U+00FF (the key policy rule, reference §4.9).
   * Default true.
   */
  latin1Only?: boolean;
  /**
   * Unique ids of the principals the policy names, by ARN as written, resolved when the policy
   * was saved (see PrincipalEntry `uniqueId`).
   */
  principalIds?: Readonly<Record<string, string>>;
}

const TOP_LEVEL = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_ELEMENTS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);
const ACTION = /^[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]*$/;
export const INVALID_PRINCIPALS = 'Policy contains a statement with one or more invalid principals.';

/**
 * Parses and validates a policy document, and compiles it for `evaluatePolicy`. Every problem is a
 * MalformedPolicyDocumentException whose message says what is wrong and where (`Statement 2:
 * Effect must be "Allow" or "Deny"`); a document over `maxBytes` is a LimitExceededException.
 */
export function parsePolicy(text: string, options: ParsePolicyOptions): CompiledPolicy {
  if (options.maxBytes !== undefined && Buffer.byteLength(text, 'utf8') > options.maxBytes) {
    throw new LimitExceededException(`Policy document exceeds the maximum size of ${options.maxBytes} bytes.`);
  }
  if (options.latin1Only !== false) checkCharacters(text);
  const doc = parseJson(text);
  if (!isObject(doc)) fail('The policy must be a JSON object.');
  for (const name of Object.keys(doc)) {
    if (!TOP_LEVEL.has(name)) fail(`The policy has an unknown element "${name}" (expected Version, Id, Statement).`);
  }
  const version = doc.Version ?? '2008-10-17';
  if (version !== '2012-10-17' && version !== '2008-10-17') {
    fail(`The policy Version must be "2012-10-17" or "2008-10-17", not ${JSON.stringify(version)}.`);
  }
  if (doc.Id !== undefined && typeof doc.Id !== 'string') fail('The policy Id must be a string.');
  const raw = doc.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) fail('The policy must contain at least one Statement.');
  const variables = version === '2012-10-17';
  const statements = list.map((s, i) => compileStatement(s, i + 1, options.kind, variables, options.principalIds));
  const referencedKeys = new Set<string>();
  for (const s of statements) {
    for (const c of s.conditions) for (const k of c.reads) referencedKeys.add(k);
    for (const p of s.resource?.patterns ?? []) for (const k of p.variables) referencedKeys.add(k);
  }
  return {
    id: options.id ?? (typeof doc.Id === 'string' ? doc.Id : 'policy'),
    kind: options.kind,
    version,
    statements,
    referencedKeys,
    fingerprint: fingerprint(text, options.principalIds),
  };
}

function fingerprint(text: string, principalIds: Readonly<Record<string, string>> | undefined): string {
  const hash = createHash('sha256').update(text);
  if (principalIds !== undefined) hash.update(`\u0000${JSON.stringify(Object.entries(principalIds).sort())}`);
  return hash.digest('hex').slice(0, 32);
}

function compileStatement(
  raw: unknown,
  index: number,
  kind: PolicyKind,
  variables: boolean,
  principalIds: Readonly<Record<string, string>> | undefined,
): CompiledStatement {
  const where = `Statement ${index}`;
  if (!isObject(raw)) fail(`${where} must be a JSON object.`);
  for (const name of Object.keys(raw)) {
    if (!STATEMENT_ELEMENTS.has(name)) fail(`${where}: unknown element "${name}".`);
  }
  const sid = raw.Sid;
  if (sid !== undefined && typeof sid !== 'string') fail(`${where}: Sid must be a string.`);
  const effect = raw.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') fail(`${where}: Effect must be "Allow" or "Deny".`);
  exclusive(raw, where, 'Action', 'NotAction');
  exclusive(raw, where, 'Resource', 'NotResource');
  exclusive(raw, where, 'Principal', 'NotPrincipal');

  let principal: CompiledStatement['principal'];
  const principalName =
    raw.Principal !== undefined ? 'Principal' : raw.NotPrincipal !== undefined ? 'NotPrincipal' : undefined;
  if (kind === 'identity') {
    if (principalName !== undefined) fail(`${where}: ${principalName} is not allowed in an identity-based policy.`);
  } else {
    if (principalName === undefined)
      fail(`${where}: a resource-based policy statement must have a Principal or NotPrincipal.`);
    principal = {
      not: principalName === 'NotPrincipal',
      entries: principalEntries(raw[principalName], where, principalIds),
    };
  }

  let action: CompiledStatement['action'];
  const actionName = raw.Action !== undefined ? 'Action' : raw.NotAction !== undefined ? 'NotAction' : undefined;
  if (actionName !== undefined) {
    const patterns = strings(raw[actionName], `${where}: ${actionName}`).map((a) => {
      if (a !== '*' && !ACTION.test(a)) {
        fail(`${where}: ${actionName} ${JSON.stringify(a)} must be "*" or "<service>:<action>", e.g. "kms:Encrypt".`);
      }
      return compilePattern(a, { wildcards: true, ignoreCase: true, variables: false });
    });
    action = { not: actionName === 'NotAction', patterns };
  }

  let resource: CompiledStatement['resource'];
  const resourceName =
    raw.Resource !== undefined ? 'Resource' : raw.NotResource !== undefined ? 'NotResource' : undefined;
  if (resourceName !== undefined) {
    const patterns: Pattern[] = strings(raw[resourceName], `${where}: ${resourceName}`).map((r) => {
      if (r !== '*' && !r.startsWith('arn:')) {
        fail(`${where}: ${resourceName} ${JSON.stringify(r)} must be "*" or an ARN.`);
      }
      return compileArnPattern(r, { variables, shortArn: kind === 'identity' ? 'expand' : 'expand-if-wildcard' });
    });
    resource = { not: resourceName === 'NotResource', patterns };
  }

  const conditions = raw.Condition === undefined ? [] : compileConditions(raw.Condition, where, variables);
  return { index, sid, effect: effect as Effect, principal, action, resource, conditions };
}

function principalEntries(
  value: unknown,
  where: string,
  principalIds: Readonly<Record<string, string>> | undefined,
): PrincipalEntry[] {
  if (value === '*') return [{ kind: 'any' }];
  if (!isObject(value))
    fail(`${INVALID_PRINCIPALS} ${where}: Principal must be "*" or an object such as {"AWS": "<account id or ARN>"}.`);
  const entries: PrincipalEntry[] = [];
  for (const [type, v] of Object.entries(value)) {
    for (const item of strings(v, `${where}: Principal ${type}`)) {
      let entry: PrincipalEntry | undefined;
      if (type === 'AWS') {
        entry = awsPrincipalEntry(item);
        const uniqueId = principalIds?.[item];
        if (entry?.kind === 'arn' && uniqueId !== undefined) entry = { ...entry, uniqueId };
      } else if (type === 'Service') entry = servicePrincipalEntry(item);
      else if (type === 'Federated' || type === 'CanonicalUser') entry = { kind: 'unsupported', type, value: item };
      else
        fail(
          `${INVALID_PRINCIPALS} ${where}: unknown principal type "${type}" (expected AWS, Service, Federated or CanonicalUser).`,
        );
      if (entry === undefined) {
        fail(`${INVALID_PRINCIPALS} ${where}: ${JSON.stringify(item)} is not a valid ${type} principal.`);
      }
      entries.push(entry);
    }
  }
  if (entries.length === 0) fail(`${INVALID_PRINCIPALS} ${where}: Principal names no principal.`);
  return entries;
}

function compileConditions(value: unknown, where: string, variables: boolean): CompiledCondition[] {
  if (!isObject(value)) fail(`${where}: Condition must be an object of operators.`);
  const out: CompiledCondition[] = [];
  for (const [operator, block] of Object.entries(value)) {
    if (!isObject(block)) fail(`${where}: Condition operator "${operator}" must map condition keys to values.`);
    for (const [key, raw] of Object.entries(block)) {
      const values = conditionValues(raw, `${where}: Condition ${operator} ${key}`);
      const compiled = compileCondition(operator, key, values, variables);
      if ('invalid' in compiled) fail(`${where}: ${compiled.invalid}.`);
      out.push(compiled);
    }
  }
  return out;
}

function conditionValues(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) fail(`${where} has no values.`);
  return list.map((v) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return fail(`${where}: values must be strings, numbers or booleans.`);
  });
}

function strings(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) fail(`${where} must not be an empty list.`);
  for (const v of list) if (typeof v !== 'string') fail(`${where} must be a string or a list of strings.`);
  return list as string[];
}

function exclusive(raw: Record<string, unknown>, where: string, a: string, b: string): void {
  if (raw[a] !== undefined && raw[b] !== undefined) fail(`${where}: ${a} and ${b} cannot both be present.`);
}

function checkCharacters(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c <= 0xff)) continue;
    const cp = text.codePointAt(i) ?? c;
    fail(
      `The policy contains the character U+${cp.toString(16).toUpperCase().padStart(4, '0')} at offset ${i}; ` +
        'only tab, LF, CR and U+0020 to U+00FF are allowed.',
    );
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fail(message: string): never {
  throw new MalformedPolicyDocumentException(message);
}
