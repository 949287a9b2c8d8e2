import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deflateRawSync } from 'node:zlib';
import type { Logger } from 'pino';
import { type AuditRecord, buildApiCallRecord } from '../audit/record.js';
import type { AuditSink } from '../audit/writer.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { Caller } from '../auth/caller.js';
import { assumedRoleArn, issueSession } from '../auth/sessions.js';
import { KmsError } from '../errors.js';
import { authorizeKms } from '../policy/authorize-kms.js';
import { AWS_CONDITION_KEYS as AWS } from '../policy/condition-keys.js';
import type { IdentityDirectory } from '../policy/identity-directory.js';
import { requestConditions } from '../policy/kms-authorizer.js';
import { parsePolicy } from '../policy/parse-policy.js';
import { requestContext } from '../policy/request-context.js';
import type { IdentityStore, RoleRecord } from '../storage/identity-store.js';
import {
  memberList,
  memberPairs,
  QueryError,
  queryParameters,
  sendQueryError,
  sendQueryResult,
  type XmlValue,
} from '../wire/query-protocol.js';
import { readBody } from '../wire/read-body.js';
import { compileTrustPolicy } from './identity-admin.js';
import { header, requestMeta, signedRequest, sourceIp } from './request-meta.js';

/**
 * AWS STS on Trent's port (DESIGN.md, "STS shares Trent's port but is its own protocol"): AWS
 * Query requests signed for service `sts`, XML replies. GetCallerIdentity and AssumeRole.
 *
 * AssumeRole evaluates the role's trust policy with the caller as principal, through the same flow
 * as a key policy: the trust policy naming the caller (or its role) allows it; naming the caller's
 * account delegates to the caller's IAM policies; across accounts both sides must allow; SCPs of
 * the caller's account apply; an explicit deny anywhere wins. Session tags need sts:TagSession too.
 */
export interface StsHandlerOptions {
  /** Verifies signatures for service `sts`. */
  authenticator: Authenticator;
  identities: IdentityStore;
  directory: IdentityDirectory;
  rootKey: Buffer;
  logger: Logger;
  bodyLimit: number;
  dev: boolean;
  /** Receives one record per call (eventSource sts.amazonaws.com); a call whose record cannot be written fails closed. */
  audit: AuditSink;
  /** Account of records about unauthenticated calls. */
  defaultAccountId: string;
}

/** What a call leaves for its audit record: never a secret or a session token. */
interface StsCallRecord {
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
}

const VERSION = '2011-06-15';
const MANAGED_POLICY_ARN = /^arn:aws:iam::(\d{12}):policy\/([\w+=,.@-]{1,128})$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]*$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const STS_ACTIONS = new Set(['sts:assumerole', 'sts:tagsession']);

/** Trent's errors (authentication, mostly) under the codes STS uses for them. */
const STS_CODES: Record<string, [string, number]> = {
  MissingAuthenticationTokenException: ['MissingAuthenticationToken', 403],
  IncompleteSignatureException: ['IncompleteSignature', 400],
  InvalidSignatureException: ['SignatureDoesNotMatch', 403],
  UnrecognizedClientException: ['InvalidClientTokenId', 403],
  ExpiredTokenException: ['ExpiredToken', 400],
  AccessDeniedException: ['AccessDenied', 403],
  RequestEntityTooLargeException: ['RequestEntityTooLarge', 413],
};

export class StsHandler {
  constructor(private readonly options: StsHandlerOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let action: string | undefined;
    let caller: Caller | undefined;
    let region: string | undefined;
    let result: XmlValue | undefined;
    let error: QueryError | undefined;
    const call: StsCallRecord = { requestParameters: null, responseElements: null };
    try {
      const body = await readBody(req, this.options.bodyLimit);
      const params = queryParameters(req.url ?? '/', body, header(req, 'content-type'));
      action = params.get('Action');
      ({ caller, region } = await this.options.authenticator.authenticate(signedRequest(req, body)));
      const version = params.get('Version');
      if (version !== undefined && version !== VERSION) {
        throw new QueryError('InvalidAction', `Could not find operation ${action ?? ''} for version ${version}`);
      }
      if (action === 'GetCallerIdentity') result = await this.getCallerIdentity(caller);
      else if (action === 'AssumeRole')
        result = await this.assumeRole(caller, params, { ip: sourceIp(req), region }, call);
      else if (action === undefined) throw new QueryError('MissingAction', 'Missing Action');
      else throw new QueryError('InvalidAction', `Could not find operation ${action} for version ${VERSION}`);
    } catch (err) {
      error = toQueryError(err);
    }

    try {
      const time = Date.now();
      await this.options.audit.write(this.record(req, requestId, time, action, caller, region, call, error), time);
    } catch (auditErr) {
      this.options.logger.error(
        { requestId, sts: action, err: auditErr },
        'audit record could not be written: failing the request closed',
      );
      error = new QueryError(
        'InternalFailure',
        'An internal error occurred. Try again later.',
        500,
        'audit store unwritable',
      );
    }

    if (error === undefined) {
      sendQueryResult(res, requestId, action as string, result as XmlValue);
      this.options.logger.debug({ requestId, sts: action, caller: caller?.arn }, 'request');
    } else {
      sendQueryError(res, requestId, error);
      const entry = { requestId, sts: action, caller: caller?.arn, code: error.code, detail: error.detail };
      if (error.status >= 500) this.options.logger.error(entry, error.message);
      else this.options.logger.info(entry, 'request refused');
    }
  }

  /** The CloudTrail record of an STS call, as KMS calls get theirs (eventSource sts.amazonaws.com). */
  private record(
    req: IncomingMessage,
    requestId: string,
    time: number,
    action: string | undefined,
    caller: Caller | undefined,
    region: string | undefined,
    call: StsCallRecord,
    error: QueryError | undefined,
  ): AuditRecord {
    const eventName = action === undefined || action === '' ? 'UnknownOperation' : action.slice(0, 128);
    const record = buildApiCallRecord(
      { eventName, input: undefined, parameters: undefined, output: undefined, error: undefined, caller, keyArns: [] },
      requestMeta(req, requestId, time, region, this.options.defaultAccountId),
    );
    record.eventSource = 'sts.amazonaws.com';
    record.apiVersion = VERSION;
    record.readOnly = eventName === 'GetCallerIdentity';
    record.requestParameters = call.requestParameters;
    record.responseElements = error === undefined ? call.responseElements : null;
    if (error !== undefined) {
      record.errorCode = error.code;
      if (error.message !== '') record.errorMessage = error.message.slice(0, 1024);
      if (error.detail !== undefined) record.trentDetail = { detail: error.detail };
    }
    return record;
  }

  private async getCallerIdentity(caller: Caller): Promise<XmlValue> {
    const { principal } = await this.options.directory.identity(caller);
    return { UserId: principal.userId || caller.accessKeyId, Account: caller.accountId, Arn: caller.arn };
  }

  private async assumeRole(
    caller: Caller,
    params: Map<string, string>,
    origin: { ip: string; region: string },
    call: StsCallRecord,
  ): Promise<XmlValue> {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    const durationText = params.get('DurationSeconds');
    call.requestParameters = assumeRoleParameters(params);
    const errors: string[] = [];
    if (roleArn === undefined)
      errors.push("Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
    else if (roleArn.length < 20 || roleArn.length > 2048) {
      errors.push(
        `Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048`,
      );
    }
    if (sessionName === undefined) {
      errors.push("Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
    } else if (sessionName.length < 2 || sessionName.length > 64) {
      errors.push(
        `Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64`,
      );
    } else if (!SESSION_NAME.test(sessionName)) {
      errors.push(
        `Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    let duration = 3600;
    if (durationText !== undefined) {
      duration = /^\d{1,9}$/.test(durationText) ? Number(durationText) : Number.NaN;
      if (Number.isNaN(duration)) throw new QueryError('ValidationError', `Invalid DurationSeconds '${durationText}'`);
      if (duration < 900) {
        errors.push(
          `Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
        );
      } else if (duration > 43200) {
        errors.push(
          `Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`,
        );
      }
    }
    if (errors.length > 0) {
      throw new QueryError(
        'ValidationError',
        `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`,
      );
    }
    const inlineSessionPolicy = params.get('Policy');
    const packedSessionPolicy = inlineSessionPolicy === undefined ? undefined : checkSessionPolicy(inlineSessionPolicy);
    const tags = memberPairs(params, 'Tags');
    const transitive = memberList(params, 'TransitiveTagKeys');
    checkTags(tags, transitive);
    const policyArns = memberArns(params);
    const packedPolicySize = packedSize(
      policyArns.length === 0 ? packedSessionPolicy : `${packedSessionPolicy ?? ''}${policyArns.join('')}`,
      tags,
    );
    if (packedPolicySize !== undefined && packedPolicySize > 100) {
      throw new QueryError(
        'PackedPolicyTooLarge',
        `Packed policy consumes ${packedPolicySize}% of allotted space, please use smaller policy.`,
      );
    }
    const arn = roleArn as string;
    const name = sessionName as string;
    const m = ROLE_ARN.exec(arn);
    if (m === null) throw new QueryError('ValidationError', `${arn} is not a valid role ARN.`);
    const [, accountId, roleName] = m as unknown as [string, string, string];
    const sessionPolicy = await this.sessionPolicy(accountId, inlineSessionPolicy, policyArns);
    const now = Date.now();

    if (this.options.dev) {
      // Dev mode verifies nothing: any role ARN gets credentials (which dev mode accepts anyway).
      const roleId = `AROA${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;
      return this.credentials(
        { accountId, roleName, roleId, trustPolicy: '', tags: {}, maxSessionDuration: 43200, createdAt: now },
        {
          sessionName: name,
          duration,
          tags,
          transitiveTagKeys: transitive,
          chained: false,
          sessionPolicy,
          packedPolicySize,
        },
        now,
        call,
      );
    }

    const denied = (reason: string) =>
      new QueryError(
        'AccessDenied',
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
        403,
        reason,
      );
    if (caller.type === 'Root') {
      throw new QueryError('AccessDenied', 'Roles may not be assumed by root accounts.', 403);
    }
    const role = await this.options.identities.getRole(accountId, roleName);
    if (role === undefined) throw denied('no such role');

    // Session tags the caller's own session passes on (role chaining).
    const inherited: Record<string, string> = {};
    for (const k of caller.session?.transitiveTagKeys ?? []) {
      const v = caller.session?.tags[k];
      if (v !== undefined) inherited[k] = v;
    }
    for (const t of tags) {
      if (Object.keys(inherited).some((k) => k.toLowerCase() === t.key.toLowerCase())) {
        throw new QueryError(
          'InvalidParameterValue',
          `The session tag key ${t.key} is a transitive tag of the calling session and cannot be set again.`,
        );
      }
    }

    const identity = await this.options.directory.identity(caller);
    const trust = compileTrustPolicy(role.trustPolicy, 'trust-policy', role.trustPrincipals);
    const conditions: Record<string, string | string[] | undefined> = {
      ...requestConditions({
        caller,
        sourceIp: origin.ip,
        requestedRegion: origin.region,
        resourceAccountId: accountId,
      }),
      'sts:RoleSessionName': name,
      'sts:ExternalId': params.get('ExternalId'),
    };
    if (tags.length > 0) {
      conditions[AWS.TagKeys] = tags.map((t) => t.key);
      for (const t of tags) conditions[AWS.RequestTagPrefix + t.key] = t.value;
    }
    if (transitive.length > 0) conditions['sts:TransitiveTagKeys'] = transitive;
    const actions =
      tags.length > 0 || transitive.length > 0 ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'];
    for (const action of actions) {
      const decision = authorizeKms({
        request: requestContext({
          principal: identity.principal,
          action,
          resource: arn,
          conditions,
          now: new Date(),
        }),
        resourceAccountId: accountId,
        keyPolicy: trust,
        identityPolicies: identity.policies,
        sessionPolicy: identity.sessionPolicy,
        serviceControlPolicies:
          identity.serviceControlPolicies.length === 0 ? undefined : [identity.serviceControlPolicies],
        crossAccountActions: STS_ACTIONS,
      });
      if (decision.decision !== 'Allow') {
        throw new QueryError(
          'AccessDenied',
          `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${arn}`,
          403,
          decision.rule,
        );
      }
    }

    const chained = caller.type === 'AssumedRole';
    if (chained && duration > 3600) {
      throw new QueryError(
        'ValidationError',
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      );
    }
    if (duration > role.maxSessionDuration) {
      throw new QueryError(
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }
    const allTags = [...Object.entries(inherited).map(([key, value]) => ({ key, value })), ...tags];
    const allTransitive = [...Object.keys(inherited), ...transitive];
    return this.credentials(
      role,
      {
        sessionName: name,
        duration,
        tags: allTags,
        transitiveTagKeys: allTransitive,
        chained,
        sessionPolicy,
        packedPolicySize,
      },
      now,
      call,
    );
  }

  /**
   * The session policies as one document: `Policy` and the managed policies `PolicyArns` names
   * (customer managed policies of the role's account, read now: a later change to one does not
   * reach sessions already issued), their statements side by side — so the session may do what
   * one of them allows and the role's policies allow, and an explicit deny in any of them wins, as
   * AWS evaluates session policies (IAM User Guide, "Session policies").
   */
  private async sessionPolicy(
    accountId: string,
    inline: string | undefined,
    policyArns: readonly string[],
  ): Promise<string | undefined> {
    if (policyArns.length === 0) return inline;
    const documents = inline === undefined ? [] : [inline];
    for (const arn of policyArns) {
      const m = MANAGED_POLICY_ARN.exec(arn);
      const policy =
        m?.[1] === accountId && m[2] !== undefined
          ? await this.options.identities.getManagedPolicy(accountId, m[2])
          : undefined;
      if (policy === undefined) {
        throw new QueryError('MalformedPolicyDocument', `Policy ${arn} does not exist or is not attachable.`);
      }
      documents.push(policy.document);
    }
    const statements = documents.flatMap((d) => {
      const statement = (JSON.parse(d) as { Statement?: unknown }).Statement;
      return Array.isArray(statement) ? statement : [statement];
    });
    return JSON.stringify({ Version: '2012-10-17', Statement: statements });
  }

  private async credentials(role: RoleRecord, spec: SessionSpec, now: number, call: StsCallRecord): Promise<XmlValue> {
    const { sessionName, duration, tags, transitiveTagKeys, chained } = spec;
    const expiresAt = now + duration * 1000;
    const issued = await issueSession(
      this.options.identities,
      this.options.rootKey,
      {
        accountId: role.accountId,
        roleName: role.roleName,
        roleId: role.roleId,
        sessionName,
        tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
        transitiveTagKeys: [...new Set(transitiveTagKeys)],
        chained,
        createdAt: now,
        expiresAt,
        ...(spec.sessionPolicy === undefined ? {} : { sessionPolicy: spec.sessionPolicy }),
      },
      now,
    );
    const expiration = new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const assumedRoleUser = {
      AssumedRoleId: `${role.roleId}:${sessionName}`,
      Arn: assumedRoleArn(role.accountId, role.roleName, sessionName),
    };
    // The audit record names the new access key id, never its secret or token.
    call.responseElements = {
      credentials: { accessKeyId: issued.record.accessKeyId, expiration },
      assumedRoleUser: { assumedRoleId: assumedRoleUser.AssumedRoleId, arn: assumedRoleUser.Arn },
      ...(spec.packedPolicySize === undefined ? {} : { packedPolicySize: spec.packedPolicySize }),
    };
    return {
      Credentials: {
        AccessKeyId: issued.record.accessKeyId,
        SecretAccessKey: issued.secretAccessKey,
        SessionToken: issued.sessionToken,
        Expiration: expiration,
      },
      AssumedRoleUser: assumedRoleUser,
      PackedPolicySize: spec.packedPolicySize,
    };
  }
}

/** Is this request for STS? Decided from headers alone, before the body is read. */
export function isStsRequest(req: IncomingMessage): boolean {
  if (req.headers['x-amz-target'] !== undefined) return false;
  const type = header(req, 'content-type') ?? '';
  if (type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return true;
  return /Credential=[^,\s]*\/sts\/aws4_request/.test(header(req, 'authorization') ?? '');
}

interface SessionSpec {
  sessionName: string;
  duration: number;
  tags: readonly { key: string; value: string }[];
  transitiveTagKeys: readonly string[];
  chained: boolean;
  sessionPolicy: string | undefined;
  packedPolicySize: number | undefined;
}

/** AssumeRole's limit on the plain text of a session policy, in characters. */
const MAX_SESSION_POLICY_CHARS = 2048;
/** The characters a session policy may hold (STS API reference, AssumeRole `Policy`). */
const SESSION_POLICY_CHARS = /^[\t\n\r\u0020-\u00FF]+$/;
/**
 * The budget of the packed form of session policies and tags, in bytes. AWS does not publish its
 * packing; Trent models it as the DEFLATE size of the minified policy and the tags, so a policy
 * far from the 2,048-character limit can still be too large when it repeats itself little.
 */
const PACKED_BUDGET_BYTES = 900;

/**
 * Validates a session policy (length, characters, syntax; an identity policy: no Principal) and
 * returns its minified form for packing. Errors in STS's words.
 */
function checkSessionPolicy(policy: string): string {
  if (policy.length > MAX_SESSION_POLICY_CHARS) {
    throw new QueryError(
      'ValidationError',
      `1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${MAX_SESSION_POLICY_CHARS}`,
    );
  }
  if (!SESSION_POLICY_CHARS.test(policy)) {
    throw new QueryError(
      'ValidationError',
      "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw new QueryError('MalformedPolicyDocument', 'The policy is not in the valid JSON format.');
  }
  try {
    parsePolicy(policy, { kind: 'identity', id: 'session-policy', latin1Only: false });
  } catch (err) {
    throw new QueryError('MalformedPolicyDocument', (err as Error).message);
  }
  return JSON.stringify(doc);
}

/** PackedPolicySize: the percentage of the packed budget the session policy and tags use. */
function packedSize(policy: string | undefined, tags: readonly { key: string; value: string }[]): number | undefined {
  if (policy === undefined && tags.length === 0) return undefined;
  const packed = deflateRawSync(Buffer.from(`${policy ?? ''}${JSON.stringify(tags)}`, 'utf8')).length;
  return Math.ceil((100 * packed) / PACKED_BUDGET_BYTES);
}

/** `PolicyArns.member.N.arn`, in order. */
function memberArns(params: Map<string, string>): string[] {
  const arns: string[] = [];
  for (let i = 1; params.has(`PolicyArns.member.${i}.arn`); i++)
    arns.push(params.get(`PolicyArns.member.${i}.arn`) as string);
  return arns;
}

function checkTags(tags: { key: string; value: string }[], transitive: string[]): void {
  if (tags.length > 50) {
    throw new QueryError(
      'ValidationError',
      `1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50`,
    );
  }
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.key.length < 1 || t.key.length > 128 || !TAG_KEY.test(t.key) || t.key.toLowerCase().startsWith('aws:')) {
      throw new QueryError('ValidationError', `The session tag key '${t.key}' is not valid.`);
    }
    if (t.value.length > 256 || !TAG_VALUE.test(t.value)) {
      throw new QueryError('ValidationError', `The session tag value of '${t.key}' is not valid.`);
    }
    if (seen.has(t.key.toLowerCase())) {
      throw new QueryError('InvalidParameterValue', `Duplicate tag keys found. Tag key ${t.key} is repeated.`);
    }
    seen.add(t.key.toLowerCase());
  }
  for (const k of transitive) {
    if (!seen.has(k.toLowerCase())) {
      throw new QueryError('InvalidParameterValue', `The transitive tag key ${k} is not one of the session tags.`);
    }
  }
}

function toQueryError(err: unknown): QueryError {
  if (err instanceof QueryError) return err;
  if (err instanceof KmsError) {
    const code = STS_CODES[err.code];
    if (code !== undefined) return new QueryError(code[0], err.message, code[1], err.detail);
    if (err.status < 500) return new QueryError(err.code, err.message, err.status, err.detail);
  }
  return new QueryError('InternalFailure', 'An internal error occurred. Try again later.', 500, String(err));
}

/** AssumeRole's request parameters as CloudTrail records them (no secrets are among them). */
function assumeRoleParameters(params: Map<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (name: string, value: unknown) => {
    if (value !== undefined) out[name] = value;
  };
  set('roleArn', params.get('RoleArn'));
  set('roleSessionName', params.get('RoleSessionName'));
  const duration = params.get('DurationSeconds');
  set('durationSeconds', duration === undefined || !/^\d{1,9}$/.test(duration) ? duration : Number(duration));
  set('externalId', params.get('ExternalId'));
  set('policy', params.get('Policy'));
  const arns: string[] = [];
  for (let i = 1; params.has(`PolicyArns.member.${i}.arn`); i++)
    arns.push(params.get(`PolicyArns.member.${i}.arn`) as string);
  if (arns.length > 0) out.policyArns = arns.map((arn) => ({ arn }));
  const tags = memberPairs(params, 'Tags');
  if (tags.length > 0) out.tags = tags;
  const transitive = memberList(params, 'TransitiveTagKeys');
  if (transitive.length > 0) out.transitiveTagKeys = transitive;
  return out;
}
