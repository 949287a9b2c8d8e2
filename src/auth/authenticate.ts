import type { IncomingHttpHeaders } from 'node:http';
import {
  AccessDeniedException,
  ExpiredTokenException,
  IncompleteSignatureException,
  MissingAuthenticationTokenException,
  UnrecognizedClientException,
} from '../errors.js';
import type { CredentialCache } from './access-keys.js';
import type { Caller } from './caller.js';
import { ON_BEHALF_OF_HEADER, type OnBehalfOfResolver, serviceNameOf, viaServiceOf } from './service-identity.js';
import { type SessionCache, tokenMatches } from './sessions.js';
import {
  checkRequestTime,
  checkScope,
  checkSignedHeaders,
  type HeaderMap,
  parseAuthorization,
  requestAmzDate,
  type SigningKeyCache,
  sha256Hex,
  verifySignature,
} from './sigv4.js';

/**
 * Authenticates a KMS request: SigV4 (reference §1.5) and the identity behind the access key.
 *
 * Secure mode verifies everything. Dev mode parses the Authorization header and checks its shape
 * (so clients learn of a misconfigured region or service), but accepts any access key and any
 * signature, and maps every caller to the default account's root — as the local KMS emulators that
 * CI pipelines use today do.
 */
export interface AuthenticatorOptions {
  mode: 'secure' | 'dev';
  service: string;
  /** The SigV4 clock-skew window; always against real time, never the lifecycle clock. */
  windowMs: number;
  defaultAccountId: string;
  credentials: CredentialCache;
  /** Temporary credentials issued by STS; without it, every session token is unrecognized. */
  sessions?: SessionCache | undefined;
  signingKeys: SigningKeyCache;
  /** Resolves `X-Trent-On-Behalf-Of`; without it, the header is refused from every caller. */
  onBehalfOf?: OnBehalfOfResolver | undefined;
}

export interface HttpRequestParts {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Repeated headers kept apart, in order, as SigV4 must see them (Node's `req.headersDistinct`). */
  headersDistinct: HeaderMap;
  body: Buffer;
}

export interface Authenticated {
  caller: Caller;
  region: string;
}

export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {}

  /** The same credentials and caches, for requests signed for another service (STS). */
  forService(service: string): Authenticator {
    return new Authenticator({ ...this.options, service });
  }

  async authenticate(request: HttpRequestParts): Promise<Authenticated> {
    const { headers } = request;
    const header = headers.authorization;
    if (header === undefined || header === '') throw new MissingAuthenticationTokenException();
    const amzDate = requestAmzDate(headers);
    const parsed = parseAuthorization(header, amzDate !== undefined);
    if (amzDate === undefined) {
      throw new IncompleteSignatureException(
        `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${header}`,
      );
    }
    checkScope(parsed, amzDate, this.options.service);
    checkRequestTime(amzDate, new Date(), this.options.windowMs);

    if (this.options.mode === 'dev') {
      const accountId = this.options.defaultAccountId;
      // Every dev-mode caller is a root, never a service identity: no one may act for another.
      if (headers[ON_BEHALF_OF_HEADER] !== undefined) {
        throw new AccessDeniedException(NOT_A_SERVICE, 'X-Trent-On-Behalf-Of in dev mode');
      }
      return {
        caller: { accountId, arn: `arn:aws:iam::${accountId}:root`, type: 'Root', accessKeyId: parsed.accessKeyId },
        region: parsed.region,
      };
    }

    checkSignedHeaders(parsed, headers);
    const credential = await this.credential(parsed.accessKeyId, headers['x-amz-security-token']);
    const { path, query } = splitUrl(request.url);
    verifySignature(
      parsed,
      { method: request.method, path, query, headers: request.headersDistinct, payloadHash: sha256Hex(request.body) },
      credential.secret,
      amzDate,
      this.options.signingKeys,
    );
    const onBehalfOf = headers[ON_BEHALF_OF_HEADER];
    if (onBehalfOf === undefined) return { caller: credential.caller, region: parsed.region };
    return {
      caller: await this.actingFor(credential.caller, onBehalfOf, parsed.signedHeaders, parsed.region),
      region: parsed.region,
    };
  }

  /**
   * The caller a service identity acts for (service-identity.ts). Refused — AccessDenied, with the
   * reason in the private detail — when the signer is not a service identity, when the header is
   * not among the signed headers (it could have been added on the way), or when it names no
   * principal of the service's account that exists.
   */
  private async actingFor(
    signer: Caller,
    header: string | string[],
    signedHeaders: readonly string[],
    region: string,
  ): Promise<Caller> {
    const service = signer.type === 'AWSService' ? serviceNameOf(signer.arn) : undefined;
    if (service === undefined) {
      throw new AccessDeniedException(NOT_A_SERVICE, `X-Trent-On-Behalf-Of from ${signer.arn}, not a service identity`);
    }
    if (!signedHeaders.includes(ON_BEHALF_OF_HEADER)) {
      throw new AccessDeniedException(UNKNOWN_PRINCIPAL, 'X-Trent-On-Behalf-Of is not a signed header');
    }
    const arn = typeof header === 'string' ? header.trim() : '';
    const caller = await this.options.onBehalfOf?.resolve(arn, signer.accessKeyId);
    if (caller === undefined || caller.accountId !== signer.accountId) {
      throw new AccessDeniedException(
        UNKNOWN_PRINCIPAL,
        `${signer.arn} (account ${signer.accountId}) cannot act for '${arn.slice(0, 256)}': no such principal in its account`,
      );
    }
    return { ...caller, invokedBy: { principal: signer.arn, viaService: viaServiceOf(service, region) } };
  }

  /**
   * The secret and caller behind an access key: a long-term key, or — with a session token — a
   * session STS issued, whose expiry is checked against real time on every request.
   */
  private async credential(
    accessKeyId: string,
    token: string | string[] | undefined,
  ): Promise<{ caller: Caller; secret: string }> {
    if (token === undefined) {
      const credential = await this.options.credentials.lookup(accessKeyId);
      if (credential === undefined) throw new UnrecognizedClientException(`unknown access key ${accessKeyId}`);
      return credential;
    }
    const session = await this.options.sessions?.lookup(accessKeyId);
    if (session === undefined || typeof token !== 'string' || !tokenMatches(session, token)) {
      throw new UnrecognizedClientException(`unknown session credentials ${accessKeyId}`);
    }
    if (Date.now() >= session.expiresAt) throw new ExpiredTokenException();
    return session;
  }
}

const NOT_A_SERVICE = 'Only a service identity may make a request on behalf of another principal.';
const UNKNOWN_PRINCIPAL = 'The principal named in X-Trent-On-Behalf-Of cannot be acted for.';

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}
