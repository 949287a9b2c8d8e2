import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticate.js';
import type { Caller } from '../auth/caller.js';
import { assumedRoleArn, issueSession } from '../auth/sessions.js';
import { KmsError } from '../errors.js';
import { authorizeKms } from '../policy/authorize-kms.js';
import { AWS_CONDITION_KEYS as AWS } from '../policy/condition-keys.js';
import type { IdentityDirectory } from '../policy/identity-directory.js';
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
}

const VERSION = '2011-06-15';
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
  RequestEntityTooLargeException: ['RequestEntityTooLarge', 413],
};

export class StsHandler {
  constructor(private readonly options: StsHandlerOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let action: string | undefined;
    let caller: Caller | undefined;
    try {
      const body = await readBody(req, this.options.bodyLimit);
      const params = queryParameters(req.url ?? '/', body, header(req, 'content-type'));
      action = params.get('Action');
      ({ caller } = await this.options.authenticator.authenticate({
        method: req.method ?? 'POST',
        url: req.url ?? '/',
        headers: req.headers,
        headersDistinct: req.headersDistinct,
        body,
      }));
      const version = params.get('Version');
      if (version !== undefined && version !== VERSION) {
        throw new QueryError('InvalidAction', `Could not find operation ${action ?? ''} for version ${version}`);
      }
      let result: XmlValue;
      if (action === 'GetCallerIdentity') result = await this.getCallerIdentity(caller);
      else if (action === 'AssumeRole') result = await this.assumeRole(caller, params, sourceIp(req));
      else if (action === undefined) throw new QueryError('MissingAction', 'Missing Action');
      else throw new QueryError('InvalidAction', `Could not find operation ${action} for version ${VERSION}`);
      sendQueryResult(res, requestId, action, result);
      this.options.logger.debug({ requestId, sts: action, caller: caller.arn }, 'request');
    } catch (err) {
      const error = toQueryError(err);
      sendQueryError(res, requestId, error);
      const entry = { requestId, sts: action, caller: caller?.arn, code: error.code, detail: error.detail };
      if (error.status >= 500) this.options.logger.error({ ...entry, err }, error.message);
      else this.options.logger.info(entry, 'request refused');
    }
  }

  private async getCallerIdentity(caller: Caller): Promise<XmlValue> {
    const { principal } = await this.options.directory.identity(caller);
    return { UserId: principal.userId || caller.accessKeyId, Account: caller.accountId, Arn: caller.arn };
  }

  private async assumeRole(caller: Caller, params: Map<string, string>, ip: string): Promise<XmlValue> {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    const durationText = params.get('DurationSeconds');
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
    if (params.has('Policy') || params.has('PolicyArns.member.1')) {
      throw new QueryError('ValidationError', 'Session policies (Policy, PolicyArns) are not supported by Trent.');
    }
    const tags = memberPairs(params, 'Tags');
    const transitive = memberList(params, 'TransitiveTagKeys');
    checkTags(tags, transitive);
    const arn = roleArn as string;
    const name = sessionName as string;
    const m = ROLE_ARN.exec(arn);
    if (m === null) throw new QueryError('ValidationError', `${arn} is not a valid role ARN.`);
    const [, accountId, roleName] = m as unknown as [string, string, string];
    const now = Date.now();

    if (this.options.dev) {
      // Dev mode verifies nothing: any role ARN gets credentials (which dev mode accepts anyway).
      const roleId = `AROA${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;
      return this.credentials(
        { accountId, roleName, roleId, trustPolicy: '', tags: {}, maxSessionDuration: 43200, createdAt: now },
        name,
        duration,
        tags,
        transitive,
        false,
        now,
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
    const trust = compileTrustPolicy(role.trustPolicy);
    const conditions: Record<string, string | string[] | undefined> = {
      [AWS.SourceIp]: ip,
      [AWS.SecureTransport]: 'false',
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
        request: requestContext({ principal: identity.principal, action, resource: arn, conditions, now: new Date() }),
        resourceAccountId: accountId,
        keyPolicy: trust,
        identityPolicies: identity.policies,
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
    return this.credentials(role, name, duration, allTags, allTransitive, chained, now);
  }

  private async credentials(
    role: RoleRecord,
    sessionName: string,
    duration: number,
    tags: readonly { key: string; value: string }[],
    transitiveTagKeys: readonly string[],
    chained: boolean,
    now: number,
  ): Promise<XmlValue> {
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
      },
      now,
    );
    return {
      Credentials: {
        AccessKeyId: issued.record.accessKeyId,
        SecretAccessKey: issued.secretAccessKey,
        SessionToken: issued.sessionToken,
        Expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      AssumedRoleUser: {
        AssumedRoleId: `${role.roleId}:${sessionName}`,
        Arn: assumedRoleArn(role.accountId, role.roleName, sessionName),
      },
      PackedPolicySize: tags.length > 0 ? Math.min(100, Math.ceil(JSON.stringify(tags).length / 20)) : undefined,
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

function sourceIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
