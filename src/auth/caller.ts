/**
 * The authenticated identity behind a request, as the rest of Trent sees it.
 */
export interface Caller {
  accountId: string;
  /** Principal ARN: `arn:aws:iam::<acct>:root` or `arn:aws:iam::<acct>:user/<name>`. */
  arn: string;
  /** CloudTrail's userIdentity.type. */
  type: 'Root' | 'IAMUser';
  accessKeyId: string;
  userName?: string;
}
