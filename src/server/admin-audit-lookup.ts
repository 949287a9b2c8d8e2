import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/authenticate.js';
import { AccessDeniedException, SerializationException, toKmsError, ValidationException } from '../errors.js';
import type { AuditFilter, AuditLog } from '../storage/audit-log.js';
import { readBody } from '../wire/read-body.js';
import { sendError, sendResult } from '../wire/reply.js';
import { signedRequest } from './request-meta.js';

/**
 * Audit lookup over HTTP (beyond AWS): `POST /trent/admin/audit/lookup` with a JSON body of filters
 * — `keyArn`, `eventName`, `principal`, `errorCode`, `readOnly`, `startTime`, `endTime` (epoch
 * seconds or ISO 8601; start inclusive, end exclusive), `limit` (1–1000, default 50), `marker` —
 * answers `{"Records": [...], "NextMarker"?}`, newest first, from `AuditLog.lookup` (the same
 * query as `trent audit lookup`). Only the deployment's administrator access key (SigV4-signed for
 * service `kms`) may call it; anyone else gets AccessDenied. The lookup itself is not recorded.
 */
export const ADMIN_AUDIT_LOOKUP_PATH = '/trent/admin/audit/lookup';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
const FIELDS = new Set([
  'keyArn',
  'eventName',
  'principal',
  'errorCode',
  'readOnly',
  'startTime',
  'endTime',
  'limit',
  'marker',
]);

export interface AdminAuditLookupOptions {
  authenticator: Authenticator;
  adminAccessKeyId: string;
  /** Undefined when the server runs with audit records off. */
  log: AuditLog | undefined;
}

export function adminAuditLookupRoute(options: AdminAuditLookupOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    try {
      const body = await readBody(req, 16_384);
      const { caller } = await options.authenticator.authenticate(signedRequest(req, body));
      if (caller.accessKeyId !== options.adminAccessKeyId) {
        throw new AccessDeniedException(
          `User: ${caller.arn} is not authorized to look up the audit records of this server.`,
          `audit lookup by ${caller.accessKeyId} refused`,
        );
      }
      const query = parseQuery(body);
      if (options.log === undefined) throw new ValidationException('Audit records are off on this server.');
      const page = await options.log.lookup(query.filter, query.limit, query.beforeSeq);
      const last = page.at(-1);
      const next = page.length === query.limit && last !== undefined ? encodeMarker(last.seq) : undefined;
      sendResult(res, requestId, {
        Records: page.map((e) => JSON.parse(e.record) as unknown),
        ...(next === undefined ? {} : { NextMarker: next }),
      });
    } catch (err) {
      sendError(res, requestId, toKmsError(err));
    }
  };
}

interface Query {
  filter: AuditFilter;
  limit: number;
  beforeSeq: number | undefined;
}

function parseQuery(body: Buffer): Query {
  const text = body.toString('utf8').trim();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new SerializationException('The body must be a JSON object of lookup filters.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SerializationException('The body must be a JSON object of lookup filters.');
  }
  const input = parsed as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!FIELDS.has(name)) throw new ValidationException(`Unknown lookup field '${name}'.`);
  }
  const filter: AuditFilter = {};
  const keyArn = str(input, 'keyArn');
  const eventName = str(input, 'eventName');
  const principal = str(input, 'principal');
  const errorCode = str(input, 'errorCode');
  if (keyArn !== undefined) filter.keyArn = keyArn;
  if (eventName !== undefined) filter.eventName = eventName;
  if (principal !== undefined) filter.principalArn = principal;
  if (errorCode !== undefined) filter.errorCode = errorCode;
  if (input.readOnly !== undefined) {
    if (typeof input.readOnly !== 'boolean') throw new ValidationException('readOnly must be true or false.');
    filter.readOnly = input.readOnly;
  }
  const from = time(input, 'startTime');
  const to = time(input, 'endTime');
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  let limit = DEFAULT_LIMIT;
  if (input.limit !== undefined) {
    const n = input.limit;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      throw new ValidationException(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
    }
    limit = n;
  }
  const marker = str(input, 'marker');
  return { filter, limit, beforeSeq: marker === undefined ? undefined : decodeMarker(marker) };
}

function str(input: Record<string, unknown>, name: string): string | undefined {
  const v = input[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new ValidationException(`${name} must be a non-empty string.`);
  return v;
}

/** Epoch ms from epoch seconds (a number) or an ISO 8601 string. */
function time(input: Record<string, unknown>, name: string): number | undefined {
  const v = input[name];
  if (v === undefined) return undefined;
  const ms = typeof v === 'number' && Number.isFinite(v) ? v * 1000 : typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new ValidationException(`${name} must be epoch seconds or an ISO 8601 time.`);
  return ms;
}

function encodeMarker(seq: number): string {
  return Buffer.from(`audit:${seq}`, 'utf8').toString('base64url');
}

function decodeMarker(marker: string): number {
  const m = /^audit:(\d{1,15})$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
  if (m?.[1] === undefined) throw new ValidationException('marker is not one this lookup returned.');
  return Number(m[1]);
}
