/**
 * AccessDeniedException messages in AWS's form, e.g.
 * `User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on resource:
 * arn:aws:kms:us-east-1:111122223333:key/… because no resource-based policy allows the kms:Decrypt action`.
 */
export type PolicyType = 'resource-based' | 'identity-based' | 'service control' | 'VPC endpoint' | 'session';

export type DenialReason =
  | { readonly kind: 'explicit-deny'; readonly in: PolicyType }
  | { readonly kind: 'no-allow'; readonly in: PolicyType };

export function accessDeniedMessage(
  principalArn: string,
  action: string,
  resource: string,
  reason: DenialReason,
): string {
  const head = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource}`;
  if (reason.kind === 'explicit-deny') {
    const article = reason.in === 'identity-based' ? 'an' : 'a';
    return `${head} with an explicit deny in ${article} ${reason.in} policy`;
  }
  return `${head} because no ${reason.in} policy allows the ${action} action`;
}
