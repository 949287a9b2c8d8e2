import type { Caller } from '../auth/caller.js';
import type { KmsError } from '../errors.js';
import { camelCase, type ParameterFilter } from './request-parameters.js';

/**
 * One audit record in CloudTrail's event shape (reference §5.1), built by a pure function from
 * what the request path knows. Field order does not matter: records are stored and hashed in
 * canonical JSON (canonical.ts).
 */
export const EVENT_VERSION = '1.11';
export const EVENT_SOURCE = 'kms.amazonaws.com';
export const API_VERSION = '2014-11-01';
const MAX_TEXT = 1024;

export interface UserIdentity {
  type: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  invokedBy?: string;
  /** Role sessions: the role that issued the session, as CloudTrail records it. */
  sessionContext?: {
    sessionIssuer: { type: 'Role'; principalId: string; arn: string; accountId: string; userName: string };
    attributes: { creationDate: string; mfaAuthenticated: 'false' };
  };
}

export interface AuditRecord {
  eventVersion: string;
  userIdentity: UserIdentity;
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  requestID: string;
  eventID: string;
  readOnly?: boolean;
  resources?: { accountId: string; type: 'AWS::KMS::Key'; ARN: string }[];
  eventType: 'AwsApiCall' | 'AwsServiceEvent';
  apiVersion?: string;
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: 'Management';
  /** The VPC endpoint the call came through, as CloudTrail records it. */
  vpcEndpointId?: string;
  serviceEventDetails?: Record<string, unknown>;
  /**
   * Trent's private context, never sent to a KMS caller: KmsError.detail and, once the policy
   * engine provides it, the evaluation trace of a denial. Visible to auditors (lookup, export).
   */
  trentDetail?: { detail?: string; policyTrace?: unknown };
}

/** What the request path knows about the HTTP request, whatever happened to it. */
export interface RequestMeta {
  requestId: string;
  eventId: string;
  /** Completion time, epoch ms. */
  time: number;
  region: string;
  sourceIp: string;
  userAgent: string | undefined;
  /** From the Authorization header, when the caller was not authenticated. */
  accessKeyId: string | undefined;
  /** The account that receives records of unauthenticated calls (the deployment's default). */
  defaultAccountId: string;
  /** The VPC endpoint a trusted proxy says the call came through (vpcEndpointId). */
  vpcEndpointId?: string | undefined;
}

export interface ApiCall {
  /** The operation name, or what X-Amz-Target named when no operation matched. */
  eventName: string;
  /** The validated input, or undefined when the request failed before validation. */
  input: unknown;
  parameters: ParameterFilter | undefined;
  output: unknown;
  error: KmsError | undefined;
  caller: Caller | undefined;
  /** ARNs of the keys the call used (ReEncrypt: both), in order. */
  keyArns: readonly string[];
  policyTrace?: unknown;
}

/** The operations GetKeyLastUsage tracks (KeyLastUsageTrackingOperation, reference §3). */
export const TRACKED_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt',
  'DeriveSharedSecret',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'ReEncrypt',
  'Sign',
  'Verify',
  'VerifyMac',
]);

const MUTATING =
  /^(Create|Delete|Disable|Enable|Update|Schedule|Cancel|Tag|Untag|Put|Import|Rotate|Retire|Revoke|Replicate|Connect|Disconnect)/;

export function isReadOnly(eventName: string): boolean {
  return !MUTATING.test(eventName);
}

export function buildApiCallRecord(call: ApiCall, meta: RequestMeta): AuditRecord {
  const accountId = call.caller?.accountId ?? meta.defaultAccountId;
  const record: AuditRecord = {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentity(call.caller, meta.accessKeyId),
    eventTime: cloudTrailTime(meta.time),
    eventSource: EVENT_SOURCE,
    eventName: call.eventName,
    awsRegion: meta.region,
    sourceIPAddress: meta.sourceIp,
    requestParameters: requestParameters(call),
    responseElements: call.error === undefined ? responseElements(call.eventName, call.output) : null,
    requestID: meta.requestId,
    eventID: meta.eventId,
    readOnly: isReadOnly(call.eventName),
    eventType: 'AwsApiCall',
    apiVersion: API_VERSION,
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
  if (meta.userAgent !== undefined) record.userAgent = truncate(meta.userAgent);
  if (meta.vpcEndpointId !== undefined) record.vpcEndpointId = meta.vpcEndpointId;
  if (call.error !== undefined) {
    record.errorCode = errorCode(call.error.code);
    if (call.error.message !== '') record.errorMessage = truncate(call.error.message);
  }
  if (call.keyArns.length > 0) record.resources = resources(call.keyArns);
  const trentDetail: AuditRecord['trentDetail'] = {};
  if (call.error?.detail !== undefined) trentDetail.detail = call.error.detail;
  if (call.policyTrace !== undefined) trentDetail.policyTrace = call.policyTrace;
  if (Object.keys(trentDetail).length > 0) record.trentDetail = trentDetail;
  return record;
}

/** A KMS-initiated event (DeleteKey at the end of the waiting period, RotateKey, …). */
export function buildServiceEventRecord(event: {
  eventName: string;
  keyArn: string;
  accountId: string;
  region: string;
  eventId: string;
  requestId: string;
  time: number;
}): AuditRecord {
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: { type: 'AWSService', accountId: event.accountId, invokedBy: 'AWS Internal' },
    eventTime: cloudTrailTime(event.time),
    eventSource: EVENT_SOURCE,
    eventName: event.eventName,
    awsRegion: event.region,
    sourceIPAddress: 'AWS Internal',
    requestParameters: null,
    responseElements: null,
    requestID: event.requestId,
    eventID: event.eventId,
    readOnly: false,
    resources: resources([event.keyArn]),
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: event.accountId,
    eventCategory: 'Management',
    serviceEventDetails: { keyId: event.keyArn },
  };
}

function userIdentity(caller: Caller | undefined, accessKeyId: string | undefined): UserIdentity {
  if (caller === undefined) {
    return accessKeyId === undefined ? { type: 'Unknown' } : { type: 'Unknown', accessKeyId };
  }
  const identity: UserIdentity = {
    type: caller.type,
    principalId: caller.type === 'Root' ? caller.accountId : caller.accessKeyId,
    arn: caller.arn,
    accountId: caller.accountId,
    accessKeyId: caller.accessKeyId,
  };
  if (caller.userName !== undefined) identity.userName = caller.userName;
  if (caller.invokedBy !== undefined) identity.invokedBy = caller.invokedBy.principal;
  const session = caller.session;
  if (session !== undefined) {
    identity.principalId = `${session.roleId}:${session.sessionName}`;
    identity.sessionContext = {
      sessionIssuer: {
        type: 'Role',
        principalId: session.roleId,
        arn: session.roleArn,
        accountId: caller.accountId,
        userName: session.roleName,
      },
      attributes: {
        creationDate: new Date(session.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        mfaAuthenticated: 'false',
      },
    };
  }
  return identity;
}

function requestParameters(call: ApiCall): Record<string, unknown> | null {
  if (call.input === undefined || call.parameters === undefined) return null;
  const params = call.parameters(call.input);
  // KMS always records the algorithm of a Decrypt, sent or not (reference §5.1).
  if (call.eventName === 'Decrypt') return { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', ...params };
  return params;
}

/**
 * Selected outputs of mutating operations, as KMS logs them; null for everything else (cryptographic
 * operations and reads never log their outputs). Dates are rendered as CloudTrail renders them.
 */
function responseElements(eventName: string, output: unknown): Record<string, unknown> | null {
  if (output === null || typeof output !== 'object') return null;
  const o = output as Record<string, unknown>;
  switch (eventName) {
    case 'CreateKey':
      return { keyMetadata: camelize(o.KeyMetadata) };
    case 'ScheduleKeyDeletion':
    case 'CancelKeyDeletion':
      return camelize(o) as Record<string, unknown>;
    default:
      return null;
  }
}

const DATE_MEMBERS = new Set(['CreationDate', 'DeletionDate', 'ValidTo']);

function camelize(value: unknown, name = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => camelize(v));
  if (typeof value === 'number' && DATE_MEMBERS.has(name)) return responseDate(value * 1000);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[camelCase(k)] = camelize(v, k);
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Aug 10, 2022, 10:38:27 PM` (UTC), the form CloudTrail uses inside responseElements. */
export function responseDate(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

/** `YYYY-MM-DDTHH:MM:SSZ`. */
export function cloudTrailTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** CloudTrail writes KMS denials as `AccessDenied` (reference §5.1). */
function errorCode(code: string): string {
  return code === 'AccessDeniedException' ? 'AccessDenied' : code;
}

function resources(arns: readonly string[]): NonNullable<AuditRecord['resources']> {
  return [...new Set(arns)].map((arn) => ({ accountId: arn.split(':')[4] ?? '', type: 'AWS::KMS::Key', ARN: arn }));
}

function truncate(text: string): string {
  return text.length <= MAX_TEXT ? text : text.slice(0, MAX_TEXT);
}
