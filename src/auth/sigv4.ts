/**
 * AWS Signature Version 4 (header form), as a set of pure functions: no I/O, no clock, no server.
 *
 * The server composes them in this order, which is the order AWS reports errors in:
 *
 *   const amzDate = requestAmzDate(headers);              // X-Amz-Date, else Date
 *   const parsed = parseAuthorization(authorization, amzDate !== undefined);
 *                                                         // IncompleteSignature
 *   checkSignedHeaders(parsed, headers);                  // InvalidSignature
 *   checkRequestTime(amzDate, now, windowMs);             // Incomplete- / InvalidSignature
 *   checkScope(parsed, amzDate, 'kms');                   // InvalidSignature
 *   // look up parsed.accessKeyId: UnrecognizedClientException if unknown
 *   verifySignature(parsed, request, secret, amzDate, cache); // InvalidSignature
 *
 * (amzDate is defined once parseAuthorization has passed.)
 *
 * "Spec step N" cites the AWS IAM User Guide, "Create a signed AWS API request"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), steps 1–6;
 * "reference" is /work/shared/reference/kms-api.md. Error messages are AWS's own: reference §1.3.3,
 * and for the rest the wording of AWS's JSON front end (observed on DynamoDB and KMS, and
 * reproduced by scratchstack-aws-signature).
 *
 * Headers are accepted in Node's shape: lower-case names, `string | string[] | undefined` values.
 * Node's `req.headers` joins repeated headers with ', ' (and keeps only the first `host`,
 * `content-type`, `authorization`, …), which is not the SigV4 form (values joined with ','); pass
 * `req.headersDistinct` — every value, in order, as an array — to verify such requests exactly. The
 * AWS SDKs never repeat a header, so the two agree for every request they send.
 */

import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from '../crypto/hmac-sha256.js';
import { IncompleteSignatureException, InvalidSignatureException } from '../errors.js';
import { Lru } from '../lru.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const TERMINATOR = 'aws4_request';

/** Node's IncomingHttpHeaders shape (lower-case names); arrays are repeated headers, in order. */
export type HeaderMap = Record<string, string | string[] | undefined>;

export interface ParsedAuthorization {
  accessKeyId: string;
  /** YYYYMMDD, from the credential scope. */
  date: string;
  region: string;
  service: string;
  terminator: string;
  /** `date/region/service/terminator`, exactly as the client sent it. */
  credentialScope: string;
  /** As the client declared them (lower-case and sorted, if the client follows the spec). */
  signedHeaders: string[];
  signature: string;
}

/** The request as the server received it. */
export interface RequestPieces {
  method: string;
  /** The path as it appears on the request line (still percent-encoded), without the query. */
  path: string;
  /** The raw query string after '?', without the '?'; '' when there is none. */
  query: string;
  headers: HeaderMap;
  /** Lower-case hex SHA-256 of the body; see `sha256Hex`. */
  payloadHash: string;
}

export interface CanonicalRequestInput extends RequestPieces {
  signedHeaders: string[];
}

// --- Authorization header --------------------------------------------------------------------

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request,
 * SignedHeaders=host;x-amz-date, Signature=hex` (spec step 6).
 *
 * `hasDateHeader` says whether the request carries `X-Amz-Date` or `Date`: AWS reports a missing
 * timestamp in the same message as missing parameters, so the check lives here. Unknown
 * parameters are ignored, as AWS ignores them.
 */
export function parseAuthorization(header: string, hasDateHeader = true): ParsedAuthorization {
  const trimmed = header.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw new IncompleteSignatureException(`Unsupported AWS 'algorithm': '${algorithm}'.`);
  }

  const params = parseParameters(space === -1 ? '' : trimmed.slice(space + 1), header);
  const credential = params.get('Credential');
  const signedHeaders = params.get('SignedHeaders');
  const signature = params.get('Signature');

  const missing: string[] = [];
  if (credential === undefined) {
    missing.push("Authorization header requires 'Credential' parameter.");
  }
  if (signature === undefined) {
    missing.push("Authorization header requires 'Signature' parameter.");
  }
  if (signedHeaders === undefined) {
    missing.push("Authorization header requires 'SignedHeaders' parameter.");
  }
  if (!hasDateHeader) {
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (missing.length > 0 || credential === undefined || signature === undefined) {
    throw new IncompleteSignatureException(`${missing.join(' ')} Authorization=${header}`);
  }

  const parts = credential.split('/');
  const [accessKeyId, date, region, service, terminator] = parts;
  if (
    parts.length !== 5 ||
    accessKeyId === undefined ||
    date === undefined ||
    region === undefined ||
    service === undefined ||
    terminator === undefined
  ) {
    throw new IncompleteSignatureException(
      'Credential must have exactly 5 slash-delimited elements, e.g. ' +
        `keyid/date/region/service/term, got '${credential}'`,
    );
  }

  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    credentialScope: parts.slice(1).join('/'),
    signedHeaders: signedHeaders === undefined || signedHeaders === '' ? [] : signedHeaders.split(';'),
    signature,
  };
}

/**
 * `key=value` pairs separated by commas and/or whitespace. AWS splits on both: a credential with a
 * space in it is reported as `'<second half>' not a valid key=value pair`.
 */
function parseParameters(text: string, header: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const token of text.split(/[\s,]+/)) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    if (eq === -1) {
      throw new IncompleteSignatureException(
        `'${token}' not a valid key=value pair (missing equal-sign) in Authorization header: ` + `'${header}'.`,
      );
    }
    const key = token.slice(0, eq);
    // A repeated parameter is ambiguous; refuse it rather than guess which one was signed.
    if (params.has(key)) {
      throw new IncompleteSignatureException(
        `Authorization header contains the '${key}' parameter more than once. ` + `Authorization=${header}`,
      );
    }
    params.set(key, token.slice(eq + 1));
  }
  return params;
}

// --- Canonical request (spec step 1) ---------------------------------------------------------

/** Lower-case hex SHA-256: the payload hash (spec step 1) and the request hash (spec step 2). */
export function sha256Hex(data: string | Uint8Array): string {
  // One-shot: no Hash object per request (see HmacSha256 for why that matters).
  return hash('sha256', data, 'hex');
}

/**
 * `Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n
 * HashedPayload`, where CanonicalHeaders ends with its own '\n' (spec step 1).
 */
export function canonicalRequest(input: CanonicalRequestInput): string {
  return [
    input.method,
    canonicalUri(input.path),
    canonicalQuery(input.query),
    canonicalHeaders(input.headers, input.signedHeaders),
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

/**
 * Spec step 1, CanonicalURI, for every service but S3: remove empty, '.' and '..' segments, then
 * URI-encode each segment. The path is taken as it is on the wire, so an encoded path is encoded
 * again ("each path segment must be URI-encoded twice"): `/a%20b` → `/a%2520b`. A trailing '/' is
 * kept when something is left; '' and '/' both become '/'.
 */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.map((s) => uriEncode(Buffer.from(s, 'utf8'))).join('/')}${trailing}`;
}

/**
 * Spec step 1, CanonicalQueryString: decode each name and value, URI-encode them again, sort by
 * encoded name then encoded value, join `name=value` with '&'. A parameter without '=' gets an
 * empty value. '+' is a literal plus (SigV4 clients send spaces as %20). Malformed escapes such as
 * `%zz` are kept literally, so this never throws.
 */
export function canonicalQuery(query: string): string {
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    pairs.push([uriEncode(percentDecode(name)), uriEncode(percentDecode(value))]);
  }
  pairs.sort(([n1, v1], [n2, v2]) => compare(n1, n2) || compare(v1, v2));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/**
 * Spec step 1, CanonicalHeaders: for each signed header, `lowercase(name):trimall(value)\n`, in the
 * order declared. Repeated headers (arrays) are trimmed one by one and joined with ','. A signed
 * header the request does not carry contributes an empty value (the signature then decides).
 * Over HTTP/2, `host` is the `:authority` pseudo-header.
 */
export function canonicalHeaders(headers: HeaderMap, signedHeaders: string[]): string {
  let out = '';
  for (const declared of signedHeaders) {
    const name = declared.toLowerCase();
    let value = headers[name];
    if (value === undefined && name === 'host') value = headers[':authority'];
    const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
    out += `${name}:${values.map(trimAll).join(',')}\n`;
  }
  return out;
}

/**
 * "Trimall": strip leading/trailing whitespace and collapse inner runs to one space — the same
 * `\s+` the JS SDK uses, which also folds obs-fold line breaks (get-header-value-multiline).
 */
function trimAll(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

/** RFC 3986 unreserved: A–Z a–z 0–9 - . _ ~ — everything else is %XX (upper-case hex). */
function uriEncode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x41 && b <= 0x5a) || // A-Z
      (b >= 0x61 && b <= 0x7a) || // a-z
      (b >= 0x30 && b <= 0x39) || // 0-9
      b === 0x2d || // -
      b === 0x2e || // .
      b === 0x5f || // _
      b === 0x7e; // ~
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Decodes %XX escapes into bytes (not into a string: `%FF` must survive the round trip even though
 * it is not UTF-8). Non-ASCII characters in `text` are taken as UTF-8.
 */
function percentDecode(text: string): Uint8Array {
  const src = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    const hex = b === 0x25 ? src.subarray(i + 1, i + 3).toString('latin1') : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      out.push(b);
    }
  }
  return Uint8Array.from(out);
}

/** Byte order, as the spec's "sort by character code point" means for encoded (ASCII) strings. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- String to sign, signing key, signature (spec steps 3–5) ---------------------------------

/** `AWS4-HMAC-SHA256 \n amzDate \n scope \n hex(SHA256(canonicalRequest))` (spec steps 2–3). */
export function stringToSign(amzDate: string, credentialScope: string, canonicalRequest: string): string {
  return `${ALGORITHM}\n${amzDate}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
}

/**
 * Spec step 4: kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request").
 */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, TERMINATOR);
}

/** Lower-case hex HMAC-SHA256 of the string to sign (spec step 5). */
export function signature(signingKey: Buffer, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Constant-time comparison. Lengths are public (a SigV4 signature is always 64 hex digits), so a
 * length mismatch returns false at once; equal lengths go through `timingSafeEqual`.
 */
export function signaturesEqual(a: string, b: string): boolean {
  const bufA = Buffer.from(a, 'utf8');
  const bufB = Buffer.from(b, 'utf8');
  if (bufA.length !== bufB.length) return false;
  return timingSafeEqual(bufA, bufB);
}

// --- Timestamp -------------------------------------------------------------------------------

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `YYYYMMDD'T'HHMMSS'Z'` (ISO 8601 basic, UTC) → Date; undefined if malformed or impossible. */
export function parseAmzDate(value: string): Date | undefined {
  if (lastAmzDate?.value === value) return new Date(lastAmzDate.ms);
  const m = AMZ_DATE.exec(value);
  if (m === null) return undefined;
  const n = (i: number): number => Number(m[i]);
  const date = new Date(Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6)));
  // Date.UTC rolls 20150231 over into March; a timestamp that does not format back is invalid.
  if (formatAmzDate(date) !== value) return undefined;
  lastAmzDate = { value, ms: date.getTime() };
  return date;
}

// Requests signed within the same second carry the same timestamp, and parsing one costs ~1.4 µs
// (every request checks its time): the last valid one parsed is kept.
let lastAmzDate: { value: string; ms: number } | undefined;

/** Date → `YYYYMMDD'T'HHMMSS'Z'`, milliseconds dropped. */
export function formatAmzDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/**
 * The request timestamp (reference §1.5): `X-Amz-Date`, else the `Date` header converted to the
 * basic format (the string to sign always carries the basic format). An unparsable `Date` is
 * returned as is, for `checkRequestTime` to report. undefined when the request has neither.
 */
export function requestAmzDate(headers: HeaderMap): string | undefined {
  const amzDate = headerValue(headers, 'x-amz-date');
  if (amzDate !== undefined) return amzDate;
  const date = headerValue(headers, 'date');
  if (date === undefined) return undefined;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? date : formatAmzDate(new Date(ms));
}

/**
 * Refuses a timestamp more than `windowMs` from `now` either way (reference §1.5: 15 minutes by
 * default). The bounds are inclusive and computed on whole seconds, as AWS prints them.
 */
export function checkRequestTime(amzDate: string, now: Date, windowMs: number): void {
  const requestTime = parseAmzDate(amzDate);
  if (requestTime === undefined) {
    throw new IncompleteSignatureException(
      `Date must be in ISO-8601 'basic format'. Got '${amzDate}'. ` + 'See http://en.wikipedia.org/wiki/ISO_8601',
    );
  }
  const nowSeconds = Math.floor(now.getTime() / 1000) * 1000;
  const requestMs = requestTime.getTime();
  // The messages are built only on failure: this check runs on every request.
  if (requestMs < nowSeconds - windowMs) {
    throw new InvalidSignatureException(
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(nowSeconds - windowMs))} ` +
        `(${formatAmzDate(new Date(nowSeconds))} - ${windowMs / 60_000} min.)`,
    );
  }
  if (requestMs > nowSeconds + windowMs) {
    throw new InvalidSignatureException(
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(new Date(nowSeconds + windowMs))} ` +
        `(${formatAmzDate(new Date(nowSeconds))} + ${windowMs / 60_000} min.)`,
    );
  }
}

// --- Scope and signed-header policy ----------------------------------------------------------

/** The shape of an AWS region name: us-east-1, eu-central-2, us-gov-west-1, us-isob-east-1, … */
const REGION_SHAPE = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/**
 * Checks the credential scope (spec step 3) against the request (reference §1.5). Like AWS, it
 * reports every problem at once, in this order: region, service, terminator, date. Without
 * `expectedRegion` any well-formed region is accepted (a self-hosted server may answer for all).
 */
export function checkScope(
  parsed: ParsedAuthorization,
  amzDate: string,
  expectedService: string,
  expectedRegion?: string,
): void {
  const problems: string[] = [];
  const regionOk = expectedRegion === undefined ? REGION_SHAPE.test(parsed.region) : parsed.region === expectedRegion;
  if (!regionOk) {
    problems.push(`Credential should be scoped to a valid region, not '${parsed.region}'.`);
  }
  if (parsed.service !== expectedService) {
    problems.push(`Credential should be scoped to correct service: '${expectedService}'.`);
  }
  if (parsed.terminator !== TERMINATOR) {
    problems.push(
      `Credential should be scoped with a valid terminator: '${TERMINATOR}', ` + `not '${parsed.terminator}'.`,
    );
  }
  const requestDate = amzDate.slice(0, 8);
  if (parsed.date !== requestDate) {
    problems.push(
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
        `'${parsed.date}' != '${requestDate}', from '${amzDate}'.`,
    );
  }
  if (problems.length > 0) throw new InvalidSignatureException(problems.join(' '));
}

/**
 * Headers that must be signed when the request carries them. `x-amz-target` names the KMS
 * operation: left unsigned, a captured `{"KeyId": …}` body could be replayed as another operation.
 * `x-amz-security-token` must be signed (reference §1.5). Every AWS SDK signs all three.
 */
export const MUST_SIGN_IF_PRESENT: readonly string[] = ['x-amz-date', 'x-amz-security-token', 'x-amz-target'];

/**
 * `host` must always be signed (spec step 1: "the host header is required"); AWS answers
 * InvalidSignatureException with the message below. The others must be signed when present.
 */
export function checkSignedHeaders(
  parsed: ParsedAuthorization,
  headers: HeaderMap,
  mustSignIfPresent: readonly string[] = MUST_SIGN_IF_PRESENT,
): void {
  const signed = new Set(parsed.signedHeaders.map((h) => h.toLowerCase()));
  if (!signed.has('host')) {
    throw new InvalidSignatureException("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  for (const name of mustSignIfPresent) {
    if (headers[name] !== undefined && !signed.has(name)) {
      throw new InvalidSignatureException(`'${displayName(name)}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
}

/** x-amz-security-token → X-Amz-Security-Token, as AWS names headers in messages. */
function displayName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

function headerValue(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

// --- Signing-key cache -----------------------------------------------------------------------

/**
 * Derived signing keys are valid for one (key, day, region, service); deriving one costs four
 * HMACs, so keep the recent ones: at most `maxEntries`, the most recently used kept (an `Lru`, whose
 * hit on a hot key is one Map lookup; re-inserting the entry on every hit cost 1.5 µs a request with
 * 1,000 keys cached). An entry remembers the secret it was derived from, so a rotated secret never
 * meets a key derived from the old one.
 */
export class SigningKeyCache {
  readonly #entries: Lru<string, { secret: string; key: HmacSha256 }>;

  constructor(maxEntries = 1000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.#entries = new Lru(maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(accessKeyId: string, secret: string, date: string, region: string, service: string): HmacSha256 {
    // None of these parts can contain a newline (access key ids, dates, regions and services are
    // plain tokens), so the joined id is unambiguous. The secret is compared on a hit.
    const id = `${accessKeyId}\n${date}\n${region}\n${service}`;
    const cached = this.#entries.get(id);
    if (cached !== undefined && cached.secret === secret) return cached.key;
    const key = new HmacSha256(deriveSigningKey(secret, date, region, service));
    this.#entries.set(id, { secret, key });
    return key;
  }
}

// --- Verify and sign -------------------------------------------------------------------------

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your ' +
  'AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Signature of a request as its signer should have computed it. */
export function computeSignature(
  parsed: ParsedAuthorization,
  request: RequestPieces,
  secret: string,
  amzDate: string,
  cache: SigningKeyCache,
): { signature: string; canonicalRequest: string } {
  // Member by member: `{ ...request, signedHeaders }` made a new hidden class on every request.
  const creq = canonicalRequest({
    method: request.method,
    path: request.path,
    query: request.query,
    headers: request.headers,
    payloadHash: request.payloadHash,
    signedHeaders: parsed.signedHeaders,
  });
  const sts = stringToSign(amzDate, parsed.credentialScope, creq);
  const key = cache.get(parsed.accessKeyId, secret, parsed.date, parsed.region, parsed.service);
  return { signature: key.hex(sts), canonicalRequest: creq };
}

/**
 * Recomputes the signature over exactly the headers the client declared (reference §1.5) and
 * compares in constant time. Scope, time and signed-header policy are the callers' checks above.
 * The error's `detail` (logs only) carries the canonical request's hash, which a client can compare
 * with its own debug output; never the canonical request itself, which may hold a session token.
 */
export function verifySignature(
  parsed: ParsedAuthorization,
  request: RequestPieces,
  secret: string,
  amzDate: string,
  cache: SigningKeyCache,
): void {
  const expected = computeSignature(parsed, request, secret, amzDate, cache);
  if (!signaturesEqual(expected.signature, parsed.signature)) {
    throw new InvalidSignatureException(
      MISMATCH,
      `SigV4 mismatch for ${parsed.accessKeyId}/${parsed.credentialScope}; signed headers ` +
        `${parsed.signedHeaders.join(';')}; canonical request sha256 ` +
        sha256Hex(expected.canonicalRequest),
    );
  }
}

export interface SignRequestInput {
  method: string;
  /** As it will go on the request line (already percent-encoded). */
  path: string;
  query?: string;
  /** Every header here is signed (any case; `authorization` excluded). Include host, x-amz-date. */
  headers: HeaderMap;
  body?: string | Uint8Array;
  accessKeyId: string;
  secret: string;
  region: string;
  service: string;
  /** `YYYYMMDD'T'HHMMSS'Z'`; send it as X-Amz-Date. */
  amzDate: string;
  /** Signed as `x-amz-security-token`; the caller sends that header too, as the SDKs do. */
  sessionToken?: string;
}

/** A small client-side signer for our tests and benchmark. Returns the Authorization value. */
export function signRequest(input: SignRequestInput): string {
  const headers = lowerCaseHeaders(input.headers);
  if (input.sessionToken !== undefined && headers['x-amz-security-token'] === undefined) {
    headers['x-amz-security-token'] = input.sessionToken;
  }
  const signedHeaders = Object.keys(headers)
    .filter((name) => name !== 'authorization' && headers[name] !== undefined)
    .sort(compare);
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/${TERMINATOR}`;
  const creq = canonicalRequest({
    method: input.method,
    path: input.path,
    query: input.query ?? '',
    headers,
    signedHeaders,
    payloadHash: sha256Hex(input.body ?? ''),
  });
  const key = deriveSigningKey(input.secret, date, input.region, input.service);
  const sig = signature(key, stringToSign(input.amzDate, scope, creq));
  return (
    `${ALGORITHM} Credential=${input.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`
  );
}

/** Lower-cases names; headers differing only in case become one repeated header. */
function lowerCaseHeaders(headers: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const previous = out[key];
    const values = Array.isArray(value) ? value : [value];
    out[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), ...values];
  }
  return out;
}
