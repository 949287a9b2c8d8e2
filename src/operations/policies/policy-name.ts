import { NotFoundException } from '../../errors.js';
import type { StringShape } from '../../wire/shapes.js';

/** A key has one policy, named `default` (reference §4.9). */
export const DEFAULT_POLICY_NAME = 'default';

export const PolicyNameType: StringShape = { type: 'string', min: 1, max: 128, pattern: '^[\\w]+$' };

/** Any other name is a policy the key does not have. */
export function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== DEFAULT_POLICY_NAME) throw new NotFoundException('No such policy exists');
}
