import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestMeta } from '../audit/record.js';
import type { HttpRequestParts } from '../auth/authenticate.js';
import type { HeaderMap } from '../auth/sigv4.js';
import type { RequestOrigin } from '../operations/context.js';

/** What the KMS and STS handlers read off a request for its reply and its audit record. */

/** The request as the authenticator verifies its signature. */
export function signedRequest(req: IncomingMessage, body: Buffer): HttpRequestParts {
  return {
    method: req.method ?? 'POST',
    url: req.url ?? '/',
    headers: req.headers,
    headersDistinct: distinctHeaders(req),
    body,
  };
}

/**
 * The headers as SigV4 reads them: a repeated header's values apart, in order. `req.headers` joins
 * them with ', ' (and keeps only the first of some); `req.headersDistinct` keeps them apart, but is
 * built on its first read, ~3 µs a request. When no name repeats — every request the AWS SDKs
 * send — the two say the same, and `req.headers` is built already.
 */
function distinctHeaders(req: IncomingMessage): HeaderMap {
  return req.rawHeaders.length === 2 * Object.keys(req.headers).length ? req.headers : req.headersDistinct;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function sourceIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** What an unauthenticated request's Authorization header says of its access key and region. */
export function credentialScope(authorization: string | undefined): { accessKeyId?: string; region?: string } {
  const m =
    authorization === undefined ? null : /Credential=([^/,\s]{1,128})\/\d{8}\/([a-z0-9-]{1,32})\//.exec(authorization);
  return m === null ? {} : { accessKeyId: m[1] as string, region: m[2] as string };
}

/**
 * The audit record's request facts. `region` is the authenticated one; without it, the region the
 * Authorization header claims, else us-east-1. `origin` is where the request came from (a trusted
 * proxy's word, a VPC endpoint); by default the TCP peer.
 */
export function requestMeta(
  req: IncomingMessage,
  requestId: string,
  time: number,
  region: string | undefined,
  defaultAccountId: string,
  origin: RequestOrigin = { sourceIp: sourceIp(req) },
): RequestMeta {
  const scope = credentialScope(header(req, 'authorization'));
  return {
    requestId,
    eventId: randomUUID(),
    time,
    region: region ?? scope.region ?? 'us-east-1',
    sourceIp: origin.sourceIp,
    userAgent: header(req, 'user-agent'),
    accessKeyId: scope.accessKeyId,
    defaultAccountId,
    vpcEndpointId: origin.vpcEndpoint?.id,
  };
}
