import { type KeyObject, randomBytes } from 'node:crypto';
import { SecretArena } from '../crypto/secret-arena.js';
import { unwrapSecret, wrapSecret } from '../crypto/wrap.js';
import { KMSInternalException, NotFoundException } from '../errors.js';
import { Lru } from '../lru.js';
import type { AliasRecord, BackingKeyRecord, KeyRecord, PageRequest } from '../storage/records.js';
import type { Store } from '../storage/store.js';
import { aliasArn, keyArn, parseKeyIdentifier } from './arn.js';
import { isSecretMaterial, loadMaterial, loadSecret, publicKeyDer } from './key-material.js';

/**
 * The keys domain's access to storage: key records, aliases and unwrapped material, with bounded
 * in-memory caches in front of the store so that the hot path (Encrypt/Decrypt on a known key)
 * reads no database. Every write goes through here and invalidates what it changes.
 *
 * The caches are sized for a store full of keys (the default quota, 100,000 per account and
 * region; an Lru keeps at least half its capacity). Every key record stays cached, and with it its
 * current version of material, so that a cached key needs no store read: an AES or HMAC key's as
 * its bytes, unwrapped (32 bytes a key, in a SecretArena, zeroed when the cache lets them go), so
 * that its first use unwraps nothing (~8 µs, an eighth of a request) and, through `withMaterial`,
 * makes no KeyObject either; an asymmetric key's wrapped, as the store holds it (~1.3 KB unwrapped for
 * RSA-2048). The KeyObjects that requests use are cached for the keys used most recently only (a
 * KeyObject holds about 1 KB outside the JavaScript heap), and only from a key's second use in a
 * while (see `admit`): the bytes live inside OpenSSL, which clears them when the object is freed,
 * and a transient Buffer from unwrapping is zeroed at once. A request that holds a KeyObject keeps
 * it valid even if the cache drops it meanwhile. Material and public keys are cached per key ARN,
 * so forgetting a key is one delete.
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

/**
 * Keys per page of `preload`: a page's records are parsed on the event loop between requests
 * (~1–2 ms for 200 on the scale benchmark's VM).
 */
const PRELOAD_PAGE = 200;

/** A key's unwrapped versions of material that were used, by material id. */
type CachedMaterials = readonly { readonly materialId: string; readonly material: KeyObject }[];

/**
 * A key's current version of material as the key cache holds it: a secret key's bytes (a view of
 * the arena), or another key's material wrapped under the root key (its bytes as latin1 text).
 */
interface CurrentMaterial {
  readonly materialId: string;
  readonly secret: Buffer | undefined;
  readonly wrapped: string | undefined;
}

export class KeyRepository {
  private readonly keys: Lru<string, KeyRecord>;
  private readonly aliases: Lru<string, AliasRecord>;
  private readonly materials: Lru<string, CachedMaterials>;
  private readonly current: Lru<string, CurrentMaterial>;
  private readonly secrets = new SecretArena();
  /** Keys whose material was unwrapped once and not cached (see `admit`). */
  private readonly usedOnce: Lru<string, true>;
  /** By key ARN: the DER public key of the key's current material. */
  private readonly publicKeys: Lru<string, { readonly materialId: string; readonly der: Buffer }>;
  /**
   * Bumped whenever something cached is forgotten. A store read caches its result only if nothing
   * was forgotten while it awaited: otherwise it might put back what was just forgotten (a key
   * changed or destroyed by another process, material deleted).
   */
  private epoch = 0;
  /** The most records `preload` caches. */
  private readonly preloadLimit: number;

  constructor(
    private readonly store: Store,
    private readonly rootKey: Buffer,
    limits: CacheLimits = DEFAULT_CACHE_LIMITS,
  ) {
    this.keys = new Lru(limits.keys, { keyOf: (key) => key.arn });
    this.preloadLimit = Math.floor(limits.keys / 2);
    this.aliases = new Lru(limits.aliases);
    this.materials = new Lru(limits.materials);
    this.current = new Lru(limits.keys, {
      onLeave: (held) => held.secret !== undefined && this.secrets.release(held.secret),
    });
    this.usedOnce = new Lru(2 * limits.materials);
    this.publicKeys = new Lru(limits.materials);
  }

  // --- keys ------------------------------------------------------------------------------------

  async get(arn: string): Promise<KeyRecord | undefined> {
    const cached = this.keys.get(arn);
    if (cached !== undefined) return cached;
    const epoch = this.epoch;
    const stored = await this.store.getKey(arn);
    if (stored === undefined) return undefined;
    const key = compact(stored);
    if (epoch === this.epoch) this.keys.set(key.arn, key);
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
      this.keys.set(stored.arn, compact(stored));
      return stored;
    }
    const backing = this.wrapMaterial(key.arn, newMaterialId(), material);
    const current: CurrentMaterial = isSecretMaterial(key.keySpec)
      ? { materialId: backing.materialId, secret: this.secrets.hold(material), wrapped: undefined }
      : { materialId: backing.materialId, secret: undefined, wrapped: backing.wrapped.toString('latin1') };
    material.fill(0);
    const stored: KeyRecord = {
      ...key,
      currentMaterialId: backing.materialId,
      materials: [{ materialId: backing.materialId }],
      revision: 1,
    };
    try {
      await this.store.insertKey(stored, [backing]);
    } catch (err) {
      if (current.secret !== undefined) this.secrets.release(current.secret);
      throw err;
    }
    this.keys.set(stored.arn, compact(stored));
    this.current.set(stored.arn, current);
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
        if ((materials.delete ?? []).length > 0) {
          this.epoch++;
          this.materials.delete(arn);
          this.current.delete(arn);
        }
      }
      if (stored) {
        this.keys.set(arn, compact(next));
        return next;
      }
      this.epoch++;
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
    this.epoch++;
    this.keys.delete(key.arn);
    const scope = `${key.accountId}/${key.region}/`;
    for (const [id, alias] of this.aliases.entries()) {
      if (id.startsWith(scope) && alias.targetKeyId === key.keyId) this.aliases.delete(id);
    }
    this.materials.delete(key.arn);
    this.current.delete(key.arn);
    this.publicKeys.delete(key.arn);
  }

  /**
   * Reads every key's record and its current material into the caches (see the class), a page
   * at a time in ARN order, so that no key's first use waits on the store for them (the server
   * starts this once it serves: src/server/start.ts). At most half the key cache (what an Lru
   * always keeps), so it never evicts what requests use. Each page is cached under get()'s rules:
   * nothing that is cached already is replaced, and a page read while something was forgotten is
   * skipped (its keys are read at their first use, as without this). `stop` is asked before each
   * page, and `onPage` hears the ARNs of each page read, cached or not. Resolves to the keys whose
   * records were cached.
   */
  async preload(
    stop: () => boolean = () => false,
    pageSize = PRELOAD_PAGE,
    onPage: (keyArns: string[]) => void = () => {},
  ): Promise<number> {
    let after = '';
    let cached = 0;
    while (cached < this.preloadLimit && !stop()) {
      const epoch = this.epoch;
      const limit = Math.min(pageSize, this.preloadLimit - cached);
      const page = await this.store.scanKeys(after, limit);
      const last = page[page.length - 1];
      if (last === undefined) break;
      after = last.key.arn;
      onPage(page.map((p) => p.key.arn));
      if (epoch === this.epoch) {
        for (const { key, backingKeys } of page) {
          let record = this.keys.get(key.arn);
          if (record === undefined) {
            record = compact(key);
            this.keys.set(key.arn, record);
            cached++;
          }
          // The cached record's current version (a newer record than the page's names its own), by
          // the record's own id string: one copy of its 64 characters a key, not two.
          const materialId = record.currentMaterialId;
          const current = backingKeys.find((b) => b.materialId === materialId);
          if (materialId !== undefined && current !== undefined && this.current.get(key.arn) === undefined) {
            this.holdCurrent(record, materialId, current.wrapped);
          }
        }
      }
      if (page.length < limit) break;
      // Requests that arrived meanwhile go first.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return cached;
  }

  // --- material --------------------------------------------------------------------------------

  /** The unwrapped material of one backing key of `key`, or undefined if it has none by that id. */
  async material(key: KeyRecord, materialId: string): Promise<KeyObject | undefined> {
    const cached = this.materials.get(key.arn);
    const hit = cached?.find((m) => m.materialId === materialId);
    if (hit !== undefined) return hit.material;
    const epoch = this.epoch;
    const keyObject = await this.load(key, materialId);
    if (keyObject === undefined) return undefined;
    // Read again: another request may have cached a version meanwhile (the store read awaited).
    const others = this.materials.get(key.arn);
    if (epoch === this.epoch && (others !== undefined || this.admit(key.arn))) {
      this.cacheMaterial(key.arn, others, materialId, keyObject);
    }
    return keyObject;
  }

  /**
   * Runs `use` with one version of the key's material and returns what it returns; undefined when
   * the key has no version by that id. `use` must be done with the material when it returns: on a
   * secret key's first use in a while it gets the bytes the cache holds, as they are (making a
   * KeyObject of them, which the collector must later free, cost more than the cipher), and their
   * place may hold another key's bytes once this turn of the event loop is over.
   */
  async withMaterial<T>(
    key: KeyRecord,
    materialId: string,
    use: (material: KeyObject | Buffer) => T,
  ): Promise<T | undefined> {
    const cached = this.materials.get(key.arn);
    const hit = cached?.find((m) => m.materialId === materialId);
    if (hit !== undefined) return use(hit.material);
    const secret = this.heldSecret(key, materialId);
    if (secret !== undefined) {
      if (cached === undefined && !this.admit(key.arn)) return use(secret);
      const keyObject = loadSecret(secret);
      this.cacheMaterial(key.arn, cached, materialId, keyObject);
      return use(keyObject);
    }
    const material = await this.material(key, materialId);
    return material === undefined ? undefined : use(material);
  }

  /** The bytes the cache holds of this version, when it is a secret key's current one. */
  private heldSecret(key: KeyRecord, materialId: string): Buffer | undefined {
    return this.heldVersion(key, materialId)?.secret;
  }

  /** What the cache holds of this version of the key's material, when it is the current one. */
  private heldVersion(key: KeyRecord, materialId: string): CurrentMaterial | undefined {
    const held = this.current.get(key.arn);
    return held !== undefined && held.materialId === materialId ? held : undefined;
  }

  private cacheMaterial(arn: string, others: CachedMaterials | undefined, materialId: string, material: KeyObject) {
    const versions = (others ?? []).filter((m) => m.materialId !== materialId);
    this.materials.set(arn, [...versions, { materialId, material }]);
  }

  /** A version of the key's material loaded as a KeyObject: from what the cache holds, else the store. */
  private async load(key: KeyRecord, materialId: string): Promise<KeyObject | undefined> {
    const version = this.heldVersion(key, materialId);
    if (version?.secret !== undefined) return loadSecret(version.secret);
    const wrapped =
      version?.wrapped !== undefined
        ? Buffer.from(version.wrapped, 'latin1')
        : await this.storedVersion(key, materialId);
    if (wrapped === undefined) return undefined;
    const material = this.unwrap(key, materialId, wrapped);
    try {
      return await loadMaterial(key.keySpec, material);
    } finally {
      material.fill(0);
    }
  }

  private unwrap(key: KeyRecord, materialId: string, wrapped: Buffer): Buffer {
    const material = this.unwrapped(key, materialId, wrapped);
    if (material === undefined) {
      throw new KMSInternalException(
        'An internal error occurred. Try again later.',
        `backing key ${key.arn}#${materialId} does not unwrap under the root key`,
      );
    }
    return material;
  }

  /**
   * Caches the key's current version: a secret key's unwrapped (one that does not unwrap is left
   * for its use to report), another's as the store holds it.
   */
  private holdCurrent(key: KeyRecord, materialId: string, wrapped: Buffer): void {
    if (!isSecretMaterial(key.keySpec)) {
      this.current.set(key.arn, { materialId, secret: undefined, wrapped: wrapped.toString('latin1') });
      return;
    }
    const material = this.unwrapped(key, materialId, wrapped);
    if (material === undefined) return;
    this.current.set(key.arn, { materialId, secret: this.secrets.hold(material), wrapped: undefined });
    material.fill(0);
  }

  /** The plaintext of a version of the key's material, or undefined when it does not unwrap. */
  private unwrapped(key: KeyRecord, materialId: string, wrapped: Buffer): Buffer | undefined {
    return unwrapSecret(this.rootKey, wrapped, materialContext(key.arn, materialId));
  }

  /**
   * Whether to cache a key's unwrapped material: from its second use among the last 40,000 or so
   * (twice the material cache) that were not cached. A key used once — a pass over every key, a
   * uniformly random load over more keys than the cache holds — then neither evicts the keys in
   * steady use nor lingers: a KeyObject that no cache holds dies young and the next scavenge frees
   * its native memory, where one evicted from the cache has lived long enough to wait for a full
   * collection, its kilobyte outside the heap invisible to V8 meanwhile (the scale benchmark: 80,000
   * such, 60 MB of peak RSS).
   */
  private admit(arn: string): boolean {
    if (this.usedOnce.get(arn) !== undefined) {
      this.usedOnce.delete(arn);
      return true;
    }
    this.usedOnce.set(arn, true);
    return false;
  }

  /** A version of the key's material as the store holds it; the current version is cached too. */
  private async storedVersion(key: KeyRecord, materialId: string): Promise<Buffer | undefined> {
    const epoch = this.epoch;
    const backings = await this.store.getBackingKeys(key.arn);
    const current = key.currentMaterialId;
    const backing = backings.find((b) => b.materialId === current);
    if (current !== undefined && backing !== undefined && epoch === this.epoch) {
      this.holdCurrent(key, current, backing.wrapped);
    }
    return backings.find((b) => b.materialId === materialId)?.wrapped;
  }

  /**
   * The DER SubjectPublicKeyInfo of an asymmetric key's current material. Public keys are not
   * secret, so they are cached as bytes (bounded like the material cache).
   */
  async publicKey(key: KeyRecord): Promise<Buffer> {
    const materialId = key.currentMaterialId;
    const cached = this.publicKeys.get(key.arn);
    if (cached !== undefined && cached.materialId === materialId) return cached.der;
    const epoch = this.epoch;
    const material = materialId === undefined ? undefined : await this.material(key, materialId);
    if (materialId === undefined || material === undefined) {
      throw new KMSInternalException('An internal error occurred. Try again later.', `${key.arn} has no material`);
    }
    const der = await publicKeyDer(key.keySpec, material);
    if (epoch === this.epoch) this.publicKeys.set(key.arn, { materialId, der });
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
    const epoch = this.epoch;
    const alias = await this.store.getAlias(accountId, region, aliasName);
    if (alias !== undefined && epoch === this.epoch) this.aliases.set(cacheId, alias);
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
    this.forgetAlias(alias, alias.aliasName);
    const updated = await this.store.updateAlias(alias);
    this.forgetAlias(alias, alias.aliasName);
    return updated;
  }

  async deleteAlias(scope: Scope, aliasName: string): Promise<boolean> {
    this.forgetAlias(scope, aliasName);
    const deleted = await this.store.deleteAlias(scope.accountId, scope.region, aliasName);
    this.forgetAlias(scope, aliasName);
    return deleted;
  }

  /** Another process changed or destroyed this key: drop its record and its material. */
  forgetKey(arn: string): void {
    this.epoch++;
    this.keys.delete(arn);
    this.materials.delete(arn);
    this.current.delete(arn);
    this.publicKeys.delete(arn);
  }

  /** Another process repointed or deleted this alias. */
  forgetAlias(scope: Scope, aliasName: string): void {
    this.epoch++;
    this.aliases.delete(`${scope.accountId}/${scope.region}/${aliasName}`);
  }

  /** Drops every cached record and zeroes cached material (shutdown). */
  clear(): void {
    this.epoch++;
    this.keys.clear();
    this.aliases.clear();
    this.materials.clear();
    this.current.clear();
    this.usedOnce.clear();
    this.publicKeys.clear();
  }
}

const NO_TAGS: KeyRecord['tags'] = Object.freeze([]) as unknown as KeyRecord['tags'];

/**
 * The form a record is cached in: the same key, in less memory (see also parseKey in
 * storage/rows.ts) — the one empty tag list shared, and `materials` left out when it says no more
 * than `currentMaterialId` does (one version, nothing known about it but its id: `materialsOf`
 * reads both forms alike). A record with tags or history is cached as it is.
 */
export function compact(key: KeyRecord): KeyRecord {
  const only = key.materials?.length === 1 ? key.materials[0] : undefined;
  const plainMaterial =
    only !== undefined && only.materialId === key.currentMaterialId && Object.keys(only).length === 1;
  const noTags = key.tags.length === 0 && key.tags !== NO_TAGS;
  if (!plainMaterial && !noTags) return key;
  const { materials, ...rest } = key;
  return {
    ...rest,
    ...(plainMaterial || materials === undefined ? {} : { materials }),
    tags: noTags ? NO_TAGS : key.tags,
  };
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
