import type { Caller } from '../auth/caller.js';
import type { KmsError } from '../errors.js';
import { camelCase, type ParameterFilter } from './request-parameters.js';

/**
 * One audit record in CloudTrail's event shape (reference §5.1), built by a pure function from
 * what the request path knows. Records are stored and hashed in canonical JSON (canonical.ts), so
 * the order of their members never shows; the builders below keep it canonical only because that
 * makes the text cheaper to write.
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

/*
 * The builders below list each object's members in canonical order (sorted, capitals first; an
 * absent optional member is undefined in its place), so that canonicalJson stringifies the record
 * as it is instead of sorting a copy of it.
 */

export function buildApiCallRecord(call: ApiCall, meta: RequestMeta): AuditRecord {
  const error = call.error;
  const trentDetail =
    error?.detail === undefined && call.policyTrace === undefined
      ? undefined
      : { detail: error?.detail, policyTrace: call.policyTrace };
  return {
    apiVersion: API_VERSION,
    awsRegion: meta.region,
    errorCode: error === undefined ? undefined : errorCode(error.code),
    errorMessage: error === undefined || error.message === '' ? undefined : truncate(error.message),
    eventCategory: 'Management',
    eventID: meta.eventId,
    eventName: call.eventName,
    eventSource: EVENT_SOURCE,
    eventTime: cloudTrailTime(meta.time),
    eventType: 'AwsApiCall',
    eventVersion: EVENT_VERSION,
    managementEvent: true,
    readOnly: isReadOnly(call.eventName),
    recipientAccountId: call.caller?.accountId ?? meta.defaultAccountId,
    requestID: meta.requestId,
    requestParameters: requestParameters(call),
    resources: call.keyArns.length > 0 ? resources(call.keyArns) : undefined,
    responseElements: error === undefined ? responseElements(call.eventName, call.output) : null,
    sourceIPAddress: meta.sourceIp,
    trentDetail,
    userAgent: meta.userAgent === undefined ? undefined : truncate(meta.userAgent),
    userIdentity: userIdentity(call.caller, meta.accessKeyId),
    vpcEndpointId: meta.vpcEndpointId,
  };
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
    awsRegion: event.region,
    eventCategory: 'Management',
    eventID: event.eventId,
    eventName: event.eventName,
    eventSource: EVENT_SOURCE,
    eventTime: cloudTrailTime(event.time),
    eventType: 'AwsServiceEvent',
    eventVersion: EVENT_VERSION,
    managementEvent: true,
    readOnly: false,
    recipientAccountId: event.accountId,
    requestID: event.requestId,
    requestParameters: null,
    resources: resources([event.keyArn]),
    responseElements: null,
    serviceEventDetails: { keyId: event.keyArn },
    sourceIPAddress: 'AWS Internal',
    userIdentity: { accountId: event.accountId, invokedBy: 'AWS Internal', type: 'AWSService' },
  };
}

function userIdentity(caller: Caller | undefined, accessKeyId: string | undefined): UserIdentity {
  if (caller === undefined) {
    return { accessKeyId, type: 'Unknown' };
  }
  const session = caller.session;
  return {
    accessKeyId: caller.accessKeyId,
    accountId: caller.accountId,
    arn: caller.arn,
    invokedBy: caller.invokedBy?.principal,
    principalId:
      session !== undefined
        ? `${session.roleId}:${session.sessionName}`
        : caller.type === 'Root'
          ? caller.accountId
          : caller.accessKeyId,
    sessionContext:
      session === undefined
        ? undefined
        : {
            attributes: {
              creationDate: new Date(session.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
              mfaAuthenticated: 'false',
            },
            sessionIssuer: {
              accountId: caller.accountId,
              arn: session.roleArn,
              principalId: session.roleId,
              type: 'Role',
              userName: session.roleName,
            },
          },
    type: caller.type,
    userName: caller.userName,
  };
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
  // Every record formats its time, and under load thousands share a second: a Date and its ISO
  // string cost ~3 µs a request, so the last second's text is kept.
  const second = Math.floor(ms / 1000);
  if (second !== lastTime.second) lastTime = { second, text: `${new Date(second * 1000).toISOString().slice(0, 19)}Z` };
  return lastTime.text;
}

let lastTime = { second: Number.NaN, text: '' };

/** CloudTrail writes KMS denials as `AccessDenied` (reference §5.1). */
function errorCode(code: string): string {
  return code === 'AccessDeniedException' ? 'AccessDenied' : code;
}

function resources(arns: readonly string[]): NonNullable<AuditRecord['resources']> {
  return [...new Set(arns)].map((arn) => ({ ARN: arn, accountId: arn.split(':')[4] ?? '', type: 'AWS::KMS::Key' }));
}

function truncate(text: string): string {
  return text.length <= MAX_TEXT ? text : text.slice(0, MAX_TEXT);
}
