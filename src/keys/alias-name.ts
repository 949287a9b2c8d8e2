import { InvalidAliasNameException, ValidationException } from '../errors.js';

/** Alias naming rules beyond the model's pattern (reference §4.2). */
const PREFIX = 'alias/';

/** Aliases per key (reference §4.16); CreateAlias and UpdateAlias both enforce it. */
export const MAX_ALIASES_PER_KEY = 50;
const RESERVED_PREFIX = 'alias/aws/';

export function checkAliasName(aliasName: string): void {
  if (!aliasName.startsWith(PREFIX)) {
    throw new ValidationException(
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
  }
  if (aliasName.length === PREFIX.length) {
    throw new InvalidAliasNameException(`Alias name ${aliasName} is not valid: it has no name after "alias/".`);
  }
  if (aliasName.startsWith(RESERVED_PREFIX)) {
    throw new InvalidAliasNameException(
      `Alias name ${aliasName} is not valid: names beginning with alias/aws/ are reserved for AWS managed keys.`,
    );
  }
}
