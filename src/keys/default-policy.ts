import { accountRootArn } from './arn.js';

/**
 * The default key policy (reference §4.9): one statement that delegates the key to its account.
 * Rendered exactly as GetKeyPolicy returns it from AWS, pretty-printed with " : ".
 */
export function defaultKeyPolicy(accountId: string): string {
  return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "${accountRootArn(accountId)}"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`;
}
