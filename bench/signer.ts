import { formatAmzDate, signRequest } from '../src/auth/sigv4.js';
import { type Credentials, REGION, type Target } from './servers.js';

/**
 * Signed request headers for a KMS call, cached per (operation, body). A SigV4 signature stays
 * valid while X-Amz-Date is inside the server's 15-minute window, so re-signing once a minute
 * keeps every request valid while taking signing off the load generator's hot path.
 */
export type Headers = Record<string, string>;

interface Signed {
  minute: number;
  headers: Headers;
}

const MINUTE_MS = 60_000;

export class Signer {
  readonly #target: Target;
  readonly #credentials: Credentials;
  readonly #cache = new Map<string, Signed>();

  /** `credentials`: another caller's than the target's administrator (e.g. an IAM user's). */
  constructor(target: Target, credentials: Credentials = target.credentials) {
    this.#target = target;
    this.#credentials = credentials;
  }

  headers(operation: string, body: string): Headers {
    const minute = Math.floor(Date.now() / MINUTE_MS);
    const id = `${operation}\n${body}`;
    const cached = this.#cache.get(id);
    if (cached !== undefined && cached.minute === minute) return cached.headers;
    const headers = this.#sign(operation, body, minute);
    this.#cache.set(id, { minute, headers });
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
