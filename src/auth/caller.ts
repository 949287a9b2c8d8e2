/**
 * The authenticated identity behind a request, as the rest of Trent sees it.
 */
export interface Caller {
  accountId: string;
  /**
   * Principal ARN: `arn:aws:iam::<acct>:root`, `arn:aws:iam::<acct>:user/<name>`, or for a role
   * session `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
   */
  arn: string;
  /** CloudTrail's userIdentity.type. */
  type: 'Root' | 'IAMUser' | 'AssumedRole';
  accessKeyId: string;
  userName?: string;
  /** For temporary credentials (type AssumedRole): the session STS issued. */
  session?: CallerSession;
}

export interface CallerSession {
  roleName: string;
  /** The role's unique id (`AROA…`) when the session was issued. */
  roleId: string;
  /** `arn:aws:iam::<acct>:role/<role>`. */
  roleArn: string;
  sessionName: string;
  tags: Readonly<Record<string, string>>;
  transitiveTagKeys: readonly string[];
  chained: boolean;
  createdAt: number;
  expiresAt: number;
}
