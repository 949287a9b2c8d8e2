/**
 * IAM identities beyond accounts and access keys: users, their inline identity policies and their
 * principal tags. A storage interface of its own (not part of `Store`), so an adapter can add it
 * independently; `sqlite/sqlite-access-store.ts` implements it.
 *
 * Every method is atomic and durable when its promise resolves. Every write bumps a version number
 * that all processes sharing the store see (`identityVersion`), so caches in front of it can tell
 * when to forget what they hold.
 */
export interface UserRecord {
  accountId: string;
  userName: string;
  /**
   * The stable unique id (`AIDA…`, 21 characters) that IAM gives a user. Never reused: a user
   * deleted and created again under the same name gets a new one, and key policies saved while the
   * old user existed keep naming the old one.
   */
  userId: string;
  /** Principal tags (aws:PrincipalTag/*). */
  tags: Record<string, string>;
  createdAt: number;
}

export interface UserPolicyRecord {
  accountId: string;
  userName: string;
  policyName: string;
  /** The policy document as given (validated before it is stored). */
  document: string;
}

/** An IAM role: who may assume it (the trust policy), and what its sessions may do (inline policies). */
export interface RoleRecord {
  accountId: string;
  roleName: string;
  /** The stable unique id (`AROA…`, 21 characters), never reused, like a user's. */
  roleId: string;
  /** The trust policy (a resource-based policy on sts:AssumeRole), as given. */
  trustPolicy: string;
  /**
   * The unique ids of the users and roles the trust policy names, by ARN, resolved when it was
   * saved: a principal deleted and created again under the same name is not trusted until the
   * trust policy is saved again. Undefined for roles saved before Trent bound them.
   */
  trustPrincipals?: Record<string, string> | undefined;
  /** Principal tags of the role's sessions (session tags override them). */
  tags: Record<string, string>;
  /** Longest session AssumeRole may issue, in seconds (3600–43200). */
  maxSessionDuration: number;
  createdAt: number;
}

export interface RolePolicyRecord {
  accountId: string;
  roleName: string;
  policyName: string;
  document: string;
}

/**
 * Temporary credentials issued by STS AssumeRole: an `ASIA…` access key id, its secret (wrapped
 * under the root key) and the SHA-256 of its session token. Stored so that every process and node
 * sharing the store can verify them.
 */
export interface SessionRecord {
  accessKeyId: string;
  secretWrapped: Buffer;
  /** Lower-case hex SHA-256 of the session token (the token itself is not stored). */
  tokenSha256: string;
  accountId: string;
  roleName: string;
  roleId: string;
  sessionName: string;
  /** Session tags (aws:PrincipalTag/* of the session, over the role's tags). */
  tags: Record<string, string>;
  /** Session tag keys that pass on to a session this session assumes (role chaining). */
  transitiveTagKeys: string[];
  /** True when the session was assumed by another role session (role chaining). */
  chained: boolean;
  /**
   * The session policy passed to AssumeRole (`Policy`), as given: the session's permissions are
   * what both it and the role's identity policies allow.
   */
  sessionPolicy?: string | undefined;
  createdAt: number;
  expiresAt: number;
}

/** A service control policy attached to an account (the organization's boundary for it). */
export interface ScpRecord {
  accountId: string;
  policyName: string;
  document: string;
}

/**
 * A customer managed policy of an account: an identity policy with a name of its own, attached to
 * any number of users and roles (`arn:aws:iam::<account>:policy/<name>`).
 */
export interface ManagedPolicyRecord {
  accountId: string;
  policyName: string;
  /** The stable unique id (`ANPA…`, 21 characters), never reused. */
  policyId: string;
  /** The policy document as given (validated before it is stored). */
  document: string;
  createdAt: number;
}

/** A managed policy attached to a user or a role of the policy's account. */
export interface PolicyAttachmentRecord {
  accountId: string;
  policyName: string;
  entityType: 'user' | 'role';
  entityName: string;
}

export interface IdentityStore {
  getUser(accountId: string, userName: string): Promise<UserRecord | undefined>;
  /** Users ordered by account, then name. */
  listUsers(accountId?: string): Promise<UserRecord[]>;
  /** Returns false (and changes nothing) when the name is taken in that account. */
  insertUser(user: UserRecord): Promise<boolean>;
  /** Replaces an existing user's tags; false if there is no such user. */
  updateUserTags(accountId: string, userName: string, tags: Record<string, string>): Promise<boolean>;
  /** Deletes a user, its inline policies and its policy attachments; false if there was no such user. */
  deleteUser(accountId: string, userName: string): Promise<boolean>;
  /** Creates or replaces an inline policy of an existing user; false if there is no such user. */
  putUserPolicy(policy: UserPolicyRecord): Promise<boolean>;
  deleteUserPolicy(accountId: string, userName: string, policyName: string): Promise<boolean>;
  /** A user's inline policies ordered by name. */
  listUserPolicies(accountId: string, userName: string): Promise<UserPolicyRecord[]>;
  getRole(accountId: string, roleName: string): Promise<RoleRecord | undefined>;
  /** Roles ordered by account, then name. */
  listRoles(accountId?: string): Promise<RoleRecord[]>;
  /** Returns false (and changes nothing) when the name is taken in that account. */
  insertRole(role: RoleRecord): Promise<boolean>;
  /** Replaces an existing role's trust policy, tags and maximum session duration; false if there is none. */
  updateRole(role: RoleRecord): Promise<boolean>;
  /** Deletes a role, its inline policies and its policy attachments; false if there was no such role. */
  deleteRole(accountId: string, roleName: string): Promise<boolean>;
  putRolePolicy(policy: RolePolicyRecord): Promise<boolean>;
  deleteRolePolicy(accountId: string, roleName: string, policyName: string): Promise<boolean>;
  listRolePolicies(accountId: string, roleName: string): Promise<RolePolicyRecord[]>;
  /** Creates or replaces an SCP of an account. */
  putScp(policy: ScpRecord): Promise<void>;
  deleteScp(accountId: string, policyName: string): Promise<boolean>;
  /** The account's SCPs ordered by name; all accounts' when accountId is undefined. */
  listScps(accountId?: string): Promise<ScpRecord[]>;
  /** Returns false (and changes nothing) when the name is taken in that account. */
  insertManagedPolicy(policy: ManagedPolicyRecord): Promise<boolean>;
  /** Replaces the document of an existing managed policy; false if there is none. */
  updateManagedPolicy(accountId: string, policyName: string, document: string): Promise<boolean>;
  getManagedPolicy(accountId: string, policyName: string): Promise<ManagedPolicyRecord | undefined>;
  /** Managed policies ordered by account, then name. */
  listManagedPolicies(accountId?: string): Promise<ManagedPolicyRecord[]>;
  /**
   * Deletes a managed policy that is attached to nothing: 'attached' (and nothing changes) while it
   * is, 'missing' if there is no such policy.
   */
  deleteManagedPolicy(accountId: string, policyName: string): Promise<'deleted' | 'missing' | 'attached'>;
  /**
   * Attaches an existing managed policy to an existing user or role of its account: false if
   * either is missing; true (no change) if already attached.
   */
  attachPolicy(attachment: PolicyAttachmentRecord): Promise<boolean>;
  /** False if the policy was not attached to the entity. */
  detachPolicy(attachment: PolicyAttachmentRecord): Promise<boolean>;
  /** The managed policies attached to a user or role, ordered by name. */
  listAttachedPolicies(
    accountId: string,
    entityType: 'user' | 'role',
    entityName: string,
  ): Promise<ManagedPolicyRecord[]>;
  /** What a managed policy is attached to, ordered by entity type, then name. */
  listPolicyAttachments(accountId: string, policyName: string): Promise<PolicyAttachmentRecord[]>;
  /** Stores a new session (and forgets sessions that expired more than a day before `now`). */
  insertSession(session: SessionRecord, now: number): Promise<void>;
  getSession(accessKeyId: string): Promise<SessionRecord | undefined>;
  /** Changes whenever any identity changes, in any process sharing the store. */
  identityVersion(): Promise<number>;
}
