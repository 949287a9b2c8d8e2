import type { IdentityStore } from '../storage/identity-store.js';
import type { Store } from '../storage/store.js';
import type { Caller } from './caller.js';
import { roleSessionCaller } from './sessions.js';

/**
 * Service identities: a stand-in for an AWS service (S3, EBS, …) that calls KMS on a user's
 * behalf. A service identity is an access key whose principal is the service principal
 * (`s3.amazonaws.com`). A request it signs may name, in the signed header `X-Trent-On-Behalf-Of`,
 * a principal of the service's own account; the request is then authorized as that principal with
 * kms:ViaService `s3.<region>.amazonaws.com` — how AWS evaluates a call that a service makes with
 * forward access sessions (IAM User Guide, "Forward access sessions"; reference §4.11).
 */
export const ON_BEHALF_OF_HEADER = 'x-trent-on-behalf-of';

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const SERVICE_PRINCIPAL = /^([a-z][a-z0-9-]{0,62})\.amazonaws\.com$/;

export function isServiceName(name: string): boolean {
  return SERVICE_NAME.test(name);
}

/** `s3` → `s3.amazonaws.com`. */
export function servicePrincipalOf(name: string): string {
  return `${name}.amazonaws.com`;
}

/** The service name of a service principal, or undefined when the ARN is not one. */
export function serviceNameOf(principal: string): string | undefined {
  return SERVICE_PRINCIPAL.exec(principal)?.[1];
}

/** kms:ViaService for a service in a region: `s3.us-east-1.amazonaws.com`. */
export function viaServiceOf(name: string, region: string): string {
  return `${name}.${region}.amazonaws.com`;
}

const ROOT = /^arn:aws:iam::(\d{12}):root$/;
const USER = /^arn:aws:iam::(\d{12}):user\/([\w+=,.@-]{1,64})$/;
const SESSION = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/;

/**
 * Resolves the principal an `X-Trent-On-Behalf-Of` header names to the caller it stands for:
 * an account root, an IAM user, or a role session (an assumed-role ARN, taken as a session of the
 * role with the role's tags: session tags and session policies are not carried). Only principals that
 * exist now resolve. Lookups are cached for `ttlMs`, like access keys.
 */
export class OnBehalfOfResolver {
  private readonly entries = new Map<string, { caller: Caller | undefined; expires: number }>();

  constructor(
    private readonly store: Pick<Store, 'getAccount'>,
    private readonly identities: Pick<IdentityStore, 'getUser' | 'getRole'>,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 10_000,
  ) {}

  async resolve(arn: string, accessKeyId: string): Promise<Caller | undefined> {
    const id = `${accessKeyId} ${arn}`;
    const now = Date.now();
    const cached = this.entries.get(id);
    if (cached !== undefined && cached.expires > now) return cached.caller;
    const caller = await this.load(arn, accessKeyId);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(id, { caller, expires: now + this.ttlMs });
    return caller;
  }

  private async load(arn: string, accessKeyId: string): Promise<Caller | undefined> {
    let m = ROOT.exec(arn);
    if (m !== null) {
      const accountId = m[1] as string;
      return (await this.store.getAccount(accountId)) === undefined
        ? undefined
        : { accountId, arn, type: 'Root', accessKeyId };
    }
    m = USER.exec(arn);
    if (m !== null) {
      const [, accountId, userName] = m as unknown as [string, string, string];
      return (await this.identities.getUser(accountId, userName)) === undefined
        ? undefined
        : { accountId, arn, type: 'IAMUser', accessKeyId, userName };
    }
    m = SESSION.exec(arn);
    if (m === null) return undefined;
    const [, accountId, roleName, sessionName] = m as unknown as [string, string, string, string];
    const role = await this.identities.getRole(accountId, roleName);
    if (role === undefined) return undefined;
    return roleSessionCaller(role, sessionName, accessKeyId, role.createdAt);
  }
}
