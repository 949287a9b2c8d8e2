import { formatAmzDate, signRequest } from '../src/auth/sigv4.js';
import { type Credentials, REGION, type Target } from './servers.js';

/**
 * Signed request headers for a KMS call, cached per (operation, body). A SigV4 signature stays
 * valid while X-Amz-Date is inside the server's 15-minute window, so re-signing a body once its
 * signature is REUSE_MINUTES old keeps every request valid while taking signing off the load
 * generator's hot path — also for a run that pre-signs many bodies (one per key of 100,000) and
 * sends them over the next minutes: with a re-signing every minute, a measurement that crossed a
 * minute's turn signed each of those bodies again while it was being measured.
 */
export type Headers = Record<string, string>;

interface Signed {
  minute: number;
  headers: Headers;
}

const MINUTE_MS = 60_000;
const REUSE_MINUTES = 10;

export class Signer {
  readonly #target: Target;
  readonly #credentials: Credentials;
  /**
   * By operation, then body: a body string keeps its hash once computed, so looking one up costs
   * little however long it is, where a key built from the two is hashed again on every lookup.
   */
  readonly #cache = new Map<string, Map<string, Signed>>();

  /** `credentials`: another caller's than the target's administrator (e.g. an IAM user's). */
  constructor(target: Target, credentials: Credentials = target.credentials) {
    this.#target = target;
    this.#credentials = credentials;
  }

  headers(operation: string, body: string): Headers {
    const minute = Math.floor(Date.now() / MINUTE_MS);
    let bodies = this.#cache.get(operation);
    if (bodies === undefined) {
      bodies = new Map();
      this.#cache.set(operation, bodies);
    }
    const cached = bodies.get(body);
    if (cached !== undefined && minute - cached.minute < REUSE_MINUTES) return cached.headers;
    const headers = this.#sign(operation, body, minute);
    bodies.set(body, { minute, headers });
    return headers;
  }

  #sign(operation: string, body: string, minute: number): Headers {
    const amzDate = formatAmzDate(new Date(minute * MINUTE_MS));
    const headers: Headers = {
      host: this.#target.url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${operation}`,
      'x-amz-date': amzDate,
    };
    headers.authorization = signRequest({
      method: 'POST',
      path: '/',
      headers,
      body,
      accessKeyId: this.#credentials.accessKeyId,
      secret: this.#credentials.secretAccessKey,
      region: REGION,
      service: 'kms',
      amzDate,
    });
    // Not signed (the SDKs don't either); set here so node does not chunk the body.
    headers['content-length'] = String(Buffer.byteLength(body));
    return headers;
  }
}
