import { type KeyObject, randomBytes } from 'node:crypto';
import { unwrapSecret, wrapSecret } from '../crypto/wrap.js';
import { KMSInternalException, NotFoundException } from '../errors.js';
import { Lru } from '../lru.js';
import type { AliasRecord, BackingKeyRecord, KeyRecord, PageRequest } from '../storage/records.js';
import type { Store } from '../storage/store.js';
import { aliasArn, keyArn, parseKeyIdentifier } from './arn.js';
import { loadMaterial, publicKeyDer } from './key-material.js';

/**
 * The keys domain's access to storage: key records, aliases and unwrapped material, with bounded
 * in-memory caches in front of the store so that the hot path (Encrypt/Decrypt on a known key)
 * reads no database. Every write goes through here and invalidates what it changes.
 *
 * Unwrapped material is cached only as KeyObjects: the bytes live inside OpenSSL, which clears
 * them when the object is freed, and the transient Buffer from unwrapping is zeroed at once. A
 * request that holds a KeyObject keeps it valid even if the cache drops it meanwhile.
 */
export interface CacheLimits {
  keys: number;
  aliases: number;
  materials: number;
}

export const DEFAULT_CACHE_LIMITS: CacheLimits = { keys: 200_000, aliases: 200_000, materials: 20_000 };

/** Where a request stands: its account and region resolve bare ids and alias names. */
export interface Scope {
  accountId: string;
  region: string;
}

export interface ResolvedKey {
  key: KeyRecord;
  /** The alias the caller named, when it named one (for kms:RequestAlias and audit). */
  aliasName?: string;
}

/** Versions of material an update adds (plaintext, zeroed once wrapped) and deletes (by id). */
export interface MaterialChanges {
  insert?: { materialId: string; material: Buffer }[];
  delete?: string[];
}

const MAX_UPDATE_ATTEMPTS = 8;

export class KeyRepository {
  private readonly keys: Lru<string, KeyRecord>;
  private readonly aliases: Lru<string, AliasRecord>;
  private readonly materials: Lru<string, KeyObject>;
  private readonly publicKeys: Lru<string, Buffer>;

  constructor(
    private readonly store: Store,
    private readonly rootKey: Buffer,
    limits: CacheLimits = DEFAULT_CACHE_LIMITS,
  ) {
    this.keys = new Lru(limits.keys);
    this.aliases = new Lru(limits.aliases);
    this.materials = new Lru(limits.materials);
    this.publicKeys = new Lru(limits.materials);
  }

  // --- keys ------------------------------------------------------------------------------------

  async get(arn: string): Promise<KeyRecord | undefined> {
    const cached = this.keys.get(arn);
    if (cached !== undefined) return cached;
    const key = await this.store.getKey(arn);
    if (key !== undefined) this.keys.set(arn, key);
    return key;
  }

  /**
   * Resolves a KeyId parameter (key id, key ARN, and — when `allowAlias` — alias name or alias
   * ARN) to a key, with AWS's NotFoundException messages (reference §4.1, Appendix A).
   */
  async resolve(scope: Scope, identifier: string, allowAlias: boolean): Promise<ResolvedKey> {
    const id = parseKeyIdentifier(identifier);
    switch (id.kind) {
      case 'keyId':
        return { key: await this.require(keyArn(scope.region, scope.accountId, id.keyId)) };
      case 'keyArn':
        if (id.region !== scope.region) throw new NotFoundException(`Invalid arn ${id.region}`);
        return { key: await this.require(keyArn(id.region, id.accountId, id.keyId)) };
      case 'aliasName':
      case 'aliasArn': {
        if (!allowAlias) throw new NotFoundException(`Invalid keyId '${identifier}'`);
        const accountId = id.kind === 'aliasArn' ? id.accountId : scope.accountId;
        if (id.kind === 'aliasArn' && id.region !== scope.region) {
          throw new NotFoundException(`Invalid arn ${id.region}`);
        }
        const alias = await this.getAlias(accountId, scope.region, id.aliasName);
        if (alias === undefined) {
          throw new NotFoundException(`Alias ${aliasArn(scope.region, accountId, id.aliasName)} is not found.`);
        }
        const key = await this.require(keyArn(scope.region, accountId, alias.targetKeyId));
        return { key, aliasName: id.aliasName };
      }
      case 'invalid':
        throw new NotFoundException(`Invalid keyId '${identifier}'`);
    }
  }

  private async require(arn: string): Promise<KeyRecord> {
    const key = await this.get(arn);
    if (key === undefined) throw new NotFoundException(`Key '${arn}' does not exist`);
    return key;
  }

  async list(scope: Scope, page: PageRequest): Promise<KeyRecord[]> {
    return this.store.listKeys(scope.accountId, scope.region, page);
  }

  async count(scope: Scope): Promise<number> {
    return this.store.countKeys(scope.accountId, scope.region);
  }

  /**
   * Stores a new key with the given material (zeroed afterwards) — or none, for a key whose
   * material will be imported; returns the stored record.
   */
  async create(key: KeyRecord, material: Buffer | undefined): Promise<KeyRecord> {
    if (material === undefined) {
      const stored: KeyRecord = { ...key, revision: 1 };
      await this.store.insertKey(stored, []);
      this.keys.set(stored.arn, stored);
      return stored;
    }
    const backing = this.wrapMaterial(key.arn, newMaterialId(), material);
    material.fill(0);
    const stored: KeyRecord = {
      ...key,
      currentMaterialId: backing.materialId,
      materials: [{ materialId: backing.materialId }],
      revision: 1,
    };
    await this.store.insertKey(stored, [backing]);
    this.keys.set(stored.arn, stored);
    return stored;
  }

  /**
   * Applies `change` to the newest stored version of a key and persists it, compare-and-set; on a
   * lost race it re-reads and tries again, so concurrent writers never overwrite each other.
   * `change` may throw (a state check failing on the fresh record) and then nothing is written.
   */
  async update(arn: string, change: (key: KeyRecord) => KeyRecord): Promise<KeyRecord> {
    return this.updateWithMaterial(arn, (key) => ({ key: change(key) }));
  }

  /**
   * `update`, where the change may also add versions of material (wrapped here under the root key,
   * the plaintext zeroed) and delete others: key row and backing keys commit in one transaction,
   * so a rotation or an import is never half done.
   */
  async updateWithMaterial(
    arn: string,
    change: (key: KeyRecord) => { key: KeyRecord; materials?: MaterialChanges },
  ): Promise<KeyRecord> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.store.getKey(arn);
      if (current === undefined) throw new NotFoundException(`Key '${arn}' does not exist`);
      const changed = change(current);
      const next = { ...changed.key, revision: current.revision + 1 };
      const materials = changed.materials;
      let stored: boolean;
      if (materials === undefined) {
        stored = await this.store.updateKey(next);
      } else {
        const insert = (materials.insert ?? []).map(({ materialId, material }) => {
          const backing = this.wrapMaterial(arn, materialId, material);
          material.fill(0);
          return backing;
        });
        stored = await this.store.updateKey(next, { insert, delete: materials.delete ?? [] });
        for (const materialId of materials.delete ?? []) this.materials.delete(`${arn}#${materialId}`);
      }
      if (stored) {
        this.keys.set(arn, next);
        return next;
      }
      this.keys.delete(arn);
    }
    throw new KMSInternalException(
      'The key is being changed by other requests. Try again.',
      `update of ${arn} kept losing races`,
    );
  }

  /**
   * Destroys a key, its material and its aliases — if it is still at `key.revision` — and drops
   * every cached trace of them.
   */
  async destroy(key: KeyRecord): Promise<boolean> {
    const deleted = await this.store.deleteKey(key.arn, key.revision);
    this.forget(key);
    return deleted;
  }

  async dueForDeletion(now: number, limit: number): Promise<KeyRecord[]> {
    return this.store.listKeysDueForDeletion(now, limit);
  }

  async dueForRotation(now: number, limit: number): Promise<KeyRecord[]> {
    return this.store.listKeysDueForRotation(now, limit);
  }

  async withExpiredMaterial(now: number, limit: number): Promise<KeyRecord[]> {
    return this.store.listKeysWithExpiredMaterial(now, limit);
  }

  /** Drops every cached trace of a destroyed key: its record, its aliases, its material. */
  private forget(key: KeyRecord): void {
    this.keys.delete(key.arn);
    const scope = `${key.accountId}/${key.region}/`;
    for (const [id, alias] of this.aliases.entries()) {
      if (id.startsWith(scope) && alias.targetKeyId === key.keyId) this.aliases.delete(id);
    }
    for (const [id] of this.materials.entries()) {
      if (id.startsWith(`${key.arn}#`)) this.materials.delete(id);
    }
    for (const [id] of this.publicKeys.entries()) {
      if (id.startsWith(`${key.arn}#`)) this.publicKeys.delete(id);
    }
  }

  // --- material --------------------------------------------------------------------------------

  /** The unwrapped material of one backing key of `key`, or undefined if it has none by that id. */
  async material(key: KeyRecord, materialId: string): Promise<KeyObject | undefined> {
    const cacheId = `${key.arn}#${materialId}`;
    const cached = this.materials.get(cacheId);
    if (cached !== undefined) return cached;
    const backing = (await this.store.getBackingKeys(key.arn)).find((b) => b.materialId === materialId);
    if (backing === undefined) return undefined;
    const material = unwrapSecret(this.rootKey, backing.wrapped, materialContext(key.arn, materialId));
    if (material === undefined) {
      throw new KMSInternalException(
        'An internal error occurred. Try again later.',
        `backing key ${cacheId} does not unwrap under the root key`,
      );
    }
    let keyObject: KeyObject;
    try {
      keyObject = loadMaterial(key.keySpec, material);
    } finally {
      material.fill(0);
    }
    this.materials.set(cacheId, keyObject);
    return keyObject;
  }

  /**
   * The DER SubjectPublicKeyInfo of an asymmetric key's current material. Public keys are not
   * secret, so they are cached as bytes (bounded like the material cache).
   */
  async publicKey(key: KeyRecord): Promise<Buffer> {
    const materialId = key.currentMaterialId;
    const cacheId = `${key.arn}#${materialId}`;
    const cached = this.publicKeys.get(cacheId);
    if (cached !== undefined) return cached;
    const material = materialId === undefined ? undefined : await this.material(key, materialId);
    if (material === undefined) {
      throw new KMSInternalException('An internal error occurred. Try again later.', `${key.arn} has no material`);
    }
    const der = publicKeyDer(key.keySpec, material);
    this.publicKeys.set(cacheId, der);
    return der;
  }

  /** Wraps a secret other than material (an import token's key) under the root key. */
  seal(secret: Buffer, context: string): Buffer {
    return wrapSecret(this.rootKey, secret, `sealed\n${context}`);
  }

  unseal(wrapped: Buffer, context: string): Buffer | undefined {
    return unwrapSecret(this.rootKey, wrapped, `sealed\n${context}`);
  }

  private wrapMaterial(arn: string, materialId: string, material: Buffer): BackingKeyRecord {
    return {
      keyArn: arn,
      materialId,
      wrapped: wrapSecret(this.rootKey, material, materialContext(arn, materialId)),
      createdAt: Date.now(),
    };
  }

  // --- aliases ---------------------------------------------------------------------------------

  async getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined> {
    const cacheId = `${accountId}/${region}/${aliasName}`;
    const cached = this.aliases.get(cacheId);
    if (cached !== undefined) return cached;
    const alias = await this.store.getAlias(accountId, region, aliasName);
    if (alias !== undefined) this.aliases.set(cacheId, alias);
    return alias;
  }

  async listAliases(scope: Scope, page: PageRequest, targetKeyId?: string): Promise<AliasRecord[]> {
    return this.store.listAliases(scope.accountId, scope.region, page, targetKeyId);
  }

  async countAliases(key: KeyRecord): Promise<number> {
    return this.store.countAliasesForKey(key.accountId, key.region, key.keyId);
  }

  async insertAlias(alias: AliasRecord): Promise<boolean> {
    const inserted = await this.store.insertAlias(alias);
    if (inserted) this.aliases.set(aliasCacheId(alias), alias);
    return inserted;
  }

  async updateAlias(alias: AliasRecord): Promise<boolean> {
    this.aliases.delete(aliasCacheId(alias));
    return this.store.updateAlias(alias);
  }

  async deleteAlias(scope: Scope, aliasName: string): Promise<boolean> {
    this.aliases.delete(`${scope.accountId}/${scope.region}/${aliasName}`);
    return this.store.deleteAlias(scope.accountId, scope.region, aliasName);
  }

  /** Another process changed or destroyed this key: drop its record and its material. */
  forgetKey(arn: string): void {
    this.keys.delete(arn);
    for (const [id] of this.materials.entries()) {
      if (id.startsWith(`${arn}#`)) this.materials.delete(id);
    }
    for (const [id] of this.publicKeys.entries()) {
      if (id.startsWith(`${arn}#`)) this.publicKeys.delete(id);
    }
  }

  /** Another process repointed or deleted this alias. */
  forgetAlias(scope: Scope, aliasName: string): void {
    this.aliases.delete(`${scope.accountId}/${scope.region}/${aliasName}`);
  }

  /** Drops every cached record and zeroes cached material (shutdown). */
  clear(): void {
    this.keys.clear();
    this.aliases.clear();
    this.materials.clear();
    this.publicKeys.clear();
  }
}

function aliasCacheId(alias: AliasRecord): string {
  return `${alias.accountId}/${alias.region}/${alias.aliasName}`;
}

function materialContext(arn: string, materialId: string): string {
  return `key-material\n${arn}\n${materialId}`;
}

export function newMaterialId(): string {
  return randomBytes(32).toString('hex');
}
