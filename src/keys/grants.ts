import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidGrantTokenException } from '../errors.js';
import type { GrantChange } from '../policy/key-grants.js';
import type { GrantRecord, GrantStore } from '../storage/grant-store.js';
import type { PageRequest } from '../storage/records.js';

/**
 * Grants (reference §4.11): storage, and grant tokens.
 *
 * Trent makes a grant effective the moment it is stored. A grant token still counts: with several
 * nodes, the node a token reaches re-reads the key's grants when the grant the token names is not
 * among those it has cached, so the token works before the other node's notice arrives. A token is `version ‖ grant id ‖ nonce ‖ key ARN ‖ MAC`, base64url (it names the key
 * so RetireGrant can find the grant by token alone): unique per CreateGrant
 * call, checked without a database read, and InvalidGrantTokenException when malformed or not
 * issued by this deployment (MAC under a key derived from the root key).
 */
export const MAX_GRANTS_PER_KEY = 50_000;
export const MAX_GRANT_TOKENS = 10;

const TOKEN_VERSION = 1;
const GRANT_ID_BYTES = 32;
const NONCE_BYTES = 16;
const MAC_BYTES = 16;
const HEAD_BYTES = 1 + GRANT_ID_BYTES + NONCE_BYTES;

export class Grants {
  private readonly macKey: Buffer;

  constructor(
    private readonly store: GrantStore,
    rootKey: Buffer,
    /** Told when a key's grants change, so that cached authorization inputs follow. */
    private readonly onChange: (keyArn: string, change: GrantChange) => void = () => {},
  ) {
    this.macKey = createHmac('sha256', rootKey).update('trent grant tokens v1').digest();
  }

  newGrantId(): string {
    return randomBytes(GRANT_ID_BYTES).toString('hex');
  }

  newToken(keyArn: string, grantId: string): string {
    const body = Buffer.concat([
      Buffer.of(TOKEN_VERSION),
      Buffer.from(grantId, 'hex'),
      randomBytes(NONCE_BYTES),
      Buffer.from(keyArn, 'utf8'),
    ]);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  /** The key and grant a token names; InvalidGrantTokenException when the token is not one of ours. */
  parseToken(token: string): { keyArn: string; grantId: string } {
    const raw = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url') : Buffer.alloc(0);
    if (raw.length <= HEAD_BYTES + MAC_BYTES || raw[0] !== TOKEN_VERSION) throw invalidToken();
    const body = raw.subarray(0, raw.length - MAC_BYTES);
    if (!timingSafeEqual(this.mac(body), raw.subarray(raw.length - MAC_BYTES))) throw invalidToken();
    return {
      grantId: body.subarray(1, 1 + GRANT_ID_BYTES).toString('hex'),
      keyArn: body.subarray(HEAD_BYTES).toString('utf8'),
    };
  }

  /**
   * Validates a request's GrantTokens (InvalidGrantTokenException for any that is not ours) and
   * returns the ids of the grants they name on `keyArn`; tokens for other keys are valid but
   * irrelevant to it.
   */
  checkGrantTokens(tokens: readonly string[] | undefined, keyArn?: string): string[] {
    const ids: string[] = [];
    for (const token of tokens ?? []) {
      const named = this.parseToken(token);
      if (named.keyArn === keyArn) ids.push(named.grantId);
    }
    return ids;
  }

  get(keyArn: string, grantId: string): Promise<GrantRecord | undefined> {
    return this.store.getGrant(keyArn, grantId);
  }

  /** A key's grants by grant id; with `granteePrincipal`, that grantee's only. */
  list(keyArn: string, page: PageRequest, granteePrincipal?: string): Promise<GrantRecord[]> {
    return this.store.listGrants(keyArn, page, granteePrincipal);
  }

  listRetirable(retiringPrincipal: string, page: PageRequest): Promise<GrantRecord[]> {
    return this.store.listRetirableGrants(retiringPrincipal, page);
  }

  /**
   * Inserts `grant`; returns it, or, with `same`, a grant of the same name on the key for which `same`
   * holds (then nothing is inserted), or undefined when the key has MAX_GRANTS_PER_KEY grants.
   */
  async insert(grant: GrantRecord, same?: (existing: GrantRecord) => boolean): Promise<GrantRecord | undefined> {
    const result = await this.store.insertGrant(grant, MAX_GRANTS_PER_KEY, same);
    if (result === false) return undefined;
    if (result === true) {
      this.onChange(grant.keyArn, { added: grant });
      return grant;
    }
    return result;
  }

  async delete(keyArn: string, grantId: string): Promise<boolean> {
    const deleted = await this.store.deleteGrant(keyArn, grantId);
    this.onChange(keyArn, { removed: grantId });
    return deleted;
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.macKey).update(body).digest().subarray(0, MAC_BYTES);
  }
}

function invalidToken(): InvalidGrantTokenException {
  return new InvalidGrantTokenException('The grant token is not valid.');
}
