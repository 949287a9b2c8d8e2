import type {
  AccessKeyRecord,
  AccountRecord,
  AliasRecord,
  BackingKeyRecord,
  KeyRecord,
  PageRequest,
  ScannedKey,
} from './records.js';

/**
 * The one storage interface. Every method is atomic on its own (each adapter runs it in one
 * transaction) and durable when its promise resolves. Methods that can lose a race say so in their
 * result instead of throwing, so the domain can answer as AWS would.
 *
 * Adapters: `sqlite/` (embedded default), `postgres/` (several nodes). One contract suite (test/storage/contract.ts) runs
 * against every adapter.
 */
export interface Store {
  // --- keys ------------------------------------------------------------------------------------
  getKey(arn: string): Promise<KeyRecord | undefined>;
  /** Keys of one account and region ordered by key id, after `page.after` (a key id). */
  listKeys(accountId: string, region: string, page: PageRequest): Promise<KeyRecord[]>;
  countKeys(accountId: string, region: string): Promise<number>;
  /** Inserts a key with its first backing keys. Fails if the ARN exists. */
  insertKey(key: KeyRecord, backingKeys: BackingKeyRecord[]): Promise<void>;
  /**
   * Replaces a key's row if its stored revision is still `key.revision - 1`, and in the same
   * transaction inserts and deletes the given backing keys (a rotation, an import, a deletion of
   * imported material): all of it commits or none. Returns false (and changes nothing) when
   * another writer got there first.
   */
  updateKey(key: KeyRecord, backingKeys?: BackingKeyChanges): Promise<boolean>;
  /**
   * Destroys a key: its row, every backing key, and every alias that points to it. With
   * `revision`, only if the stored revision is still that one (a scheduler must not destroy a key
   * whose deletion was cancelled meanwhile). Returns false if nothing was deleted.
   */
  deleteKey(arn: string, revision?: number): Promise<boolean>;
  /**
   * A page of every key in the store, any account or region, in ARN order after `afterArn` (''
   * for the first page), each with its backing keys in getBackingKeys' order; read in one
   * statement, so each key comes with the backing keys it had at that moment. For warming caches.
   */
  scanKeys(afterArn: string, limit: number): Promise<ScannedKey[]>;
  /** Keys in PendingDeletion whose deletionDate is at or before `now`, any account or region. */
  listKeysDueForDeletion(now: number, limit: number): Promise<KeyRecord[]>;
  /** Enabled keys whose nextRotationDate is at or before `now`, any account or region. */
  listKeysDueForRotation(now: number, limit: number): Promise<KeyRecord[]>;
  /** Keys (any state) whose materialExpiry is at or before `now`, any account or region. */
  listKeysWithExpiredMaterial(now: number, limit: number): Promise<KeyRecord[]>;

  // --- backing keys (versions of material) -----------------------------------------------------
  getBackingKeys(keyArn: string): Promise<BackingKeyRecord[]>;
  insertBackingKey(record: BackingKeyRecord): Promise<void>;

  // --- aliases ---------------------------------------------------------------------------------
  getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined>;
  /** Aliases of one account and region ordered by name, optionally only those of one key. */
  listAliases(accountId: string, region: string, page: PageRequest, targetKeyId?: string): Promise<AliasRecord[]>;
  countAliasesForKey(accountId: string, region: string, targetKeyId: string): Promise<number>;
  /** Returns false (and changes nothing) when the name is taken. */
  insertAlias(alias: AliasRecord): Promise<boolean>;
  /** Points an existing alias elsewhere. Returns false if the alias does not exist. */
  updateAlias(alias: AliasRecord): Promise<boolean>;
  /** Returns false if the alias did not exist. */
  deleteAlias(accountId: string, region: string, aliasName: string): Promise<boolean>;

  // --- identities ------------------------------------------------------------------------------
  getAccount(accountId: string): Promise<AccountRecord | undefined>;
  putAccount(account: AccountRecord): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>;
  listAccessKeys(accountId?: string): Promise<AccessKeyRecord[]>;
  /** Returns false if the id is taken. */
  insertAccessKey(record: AccessKeyRecord): Promise<boolean>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;

  // --- deployment metadata ---------------------------------------------------------------------
  getMeta(name: string): Promise<string | undefined>;
  /**
   * Stores `value` under `name` unless a value is already there; returns the value that is stored
   * afterwards. Two processes racing agree on one winner.
   */
  putMetaIfAbsent(name: string, value: string): Promise<string>;

  /**
   * Adapters that several processes share (PostgreSQL) tell each process of the others' changes, so
   * caches in front of the store can forget them: `listener` hears of every key or alias that is
   * updated or deleted, by any process (this one included), soon after the change commits —
   * inserts are not reported, since nothing can have cached what did not exist. After a gap in
   * which changes may have been missed (the connection to the database lost), it hears
   * `{ kind: 'all' }`. Resolves once listening; the function it returns stops. Single-process
   * adapters leave it out.
   */
  watch?(listener: (change: StoreChange) => void): Promise<() => Promise<void>>;

  close(): Promise<void>;
}

/** Backing keys that `updateKey` inserts and deletes (by material id) with the key's row. */
export interface BackingKeyChanges {
  insert?: BackingKeyRecord[];
  delete?: string[];
}

/** A change another writer made: what a cache must forget. */
export type StoreChange =
  | { kind: 'key'; arn: string }
  | { kind: 'grant'; keyArn: string; grantId: string }
  | { kind: 'alias'; accountId: string; region: string; aliasName: string }
  | { kind: 'all' };
