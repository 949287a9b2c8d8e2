/**
 * The authenticated identity behind a request, as the rest of Trent sees it.
 */
export interface Caller {
  accountId: string;
  /**
   * Principal ARN: `arn:aws:iam::<acct>:root`, `arn:aws:iam::<acct>:user/<name>`, for a role
   * session `arn:aws:sts::<acct>:assumed-role/<role>/<session>`, or for a service identity its
   * service principal (`s3.amazonaws.com`).
   */
  arn: string;
  /** CloudTrail's userIdentity.type. */
  type: 'Root' | 'IAMUser' | 'AssumedRole' | 'AWSService';
  accessKeyId: string;
  userName?: string;
  /** For temporary credentials (type AssumedRole): the session STS issued. */
  session?: CallerSession;
  /**
   * The service identity that made this request on the caller's behalf (docs/identities.md,
   * "Calls through a service"): the request is authorized as the caller, with kms:ViaService set.
   */
  invokedBy?: InvokingService;
}

export interface InvokingService {
  /** The service principal, `s3.amazonaws.com` (CloudTrail's userIdentity.invokedBy). */
  principal: string;
  /** kms:ViaService: `s3.<region>.amazonaws.com`, the region being the request's. */
  viaService: string;
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
  /**
   * The session policy given to AssumeRole (`Policy`, as JSON text): the session may do only what
   * both it and the role's identity policies allow.
   */
  policy?: string;
}
