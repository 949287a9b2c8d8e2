import { LimitExceededException, ValidationException } from '../../errors.js';
import { createGrantConditions } from '../../keys/request-conditions.js';
import type { GrantRecord } from '../../storage/grant-store.js';
import { BooleanType, enumOf, GrantTokenList, KeyIdType, structure } from '../../wire/shapes.js';
import { finishDryRun } from '../cryptographic/dry-run.js';
import { defineOperation } from '../operation.js';
import {
  checkGrantFitsKey,
  GRANT_OPERATIONS,
  type GrantConstraintsInput,
  GrantConstraintsType,
  GrantNameType,
  PrincipalIdType,
  ServicePrincipalType,
} from './grant-shapes.js';

interface CreateGrantInput {
  KeyId: string;
  GranteePrincipal?: string;
  RetiringPrincipal?: string;
  Operations: string[];
  Constraints?: GrantConstraintsInput;
  GrantTokens?: string[];
  Name?: string;
  DryRun?: boolean;
  GranteeServicePrincipal?: string;
  RetiringServicePrincipal?: string;
}

/**
 * Creates a grant, effective at once (reference §4.11). With `Name`, an identical request returns
 * the existing grant's id (with a new token).
 */
export const CreateGrant = defineOperation({
  name: 'CreateGrant',
  input: structure(
    {
      KeyId: KeyIdType,
      GranteePrincipal: PrincipalIdType,
      RetiringPrincipal: PrincipalIdType,
      Operations: { type: 'list', member: enumOf(GRANT_OPERATIONS) },
      Constraints: GrantConstraintsType,
      GrantTokens: GrantTokenList,
      Name: GrantNameType,
      DryRun: BooleanType,
      GranteeServicePrincipal: ServicePrincipalType,
      RetiringServicePrincipal: ServicePrincipalType,
    },
    ['KeyId', 'Operations'],
  ),
  async handle(ctx, input: CreateGrantInput) {
    if (input.GranteeServicePrincipal !== undefined || input.RetiringServicePrincipal !== undefined) {
      throw new ValidationException('Service principals in grants are not supported by this version of Trent.');
    }
    const grantee = input.GranteePrincipal;
    if (grantee === undefined) throw new ValidationException('GranteePrincipal is required.');
    if (input.Operations.length === 0) throw new ValidationException('Operations must name at least one operation.');
    const operations = [...new Set(input.Operations)];
    const constraints = input.Constraints;
    const equals = constraints?.EncryptionContextEquals;
    const subset = constraints?.EncryptionContextSubset;
    const { key } = await ctx.useKey(input.KeyId, 'CreateGrant', {
      grantTokens: input.GrantTokens,
      conditions: createGrantConditions(
        {
          operations,
          granteePrincipal: grantee,
          retiringPrincipal: input.RetiringPrincipal,
          encryptionContextEquals: equals,
          encryptionContextSubset: subset,
        },
        ctx.caller.invokedBy !== undefined,
      ),
      // A caller whose CreateGrant comes from a grant may create only grants within that grant.
      childGrant: { operations, constraints: { encryptionContextEquals: equals, encryptionContextSubset: subset } },
    });
    checkGrantFitsKey(key, operations, constraints);
    const wanted = {
      granteePrincipal: grantee,
      ...(input.RetiringPrincipal === undefined ? {} : { retiringPrincipal: input.RetiringPrincipal }),
      operations: [...operations].sort(),
      ...(equals === undefined && subset === undefined ? {} : { constraints: sortedConstraints(constraints) }),
    };
    const same = (g: GrantRecord) =>
      g.name === input.Name &&
      JSON.stringify({
        granteePrincipal: g.granteePrincipal,
        ...(g.retiringPrincipal === undefined ? {} : { retiringPrincipal: g.retiringPrincipal }),
        operations: g.operations,
        ...(g.constraints === undefined ? {} : { constraints: g.constraints }),
      }) === JSON.stringify(wanted);
    finishDryRun(input.DryRun);
    const grant: GrantRecord = {
      keyArn: key.arn,
      grantId: ctx.services.grants.newGrantId(),
      ...(input.Name === undefined ? {} : { name: input.Name }),
      ...wanted,
      issuingAccount: `arn:aws:iam::${ctx.accountId}:root`,
      creationDate: ctx.clock.now(),
    };
    // With a Name, the store looks for an identical grant of that name atomically with the insert
    // and returns it instead (one made earlier, or by a racing request on this node or another).
    const stored = await ctx.services.grants.insert(grant, input.Name === undefined ? undefined : same);
    if (stored === undefined) {
      throw new LimitExceededException(`The request would exceed the quota of grants on ${key.arn}.`);
    }
    return { GrantId: stored.grantId, GrantToken: ctx.services.grants.newToken(key.arn, stored.grantId) };
  },
});

function sortedConstraints(c: GrantConstraintsInput | undefined): NonNullable<GrantRecord['constraints']> {
  const sort = (m: Record<string, string> | undefined) =>
    m === undefined
      ? undefined
      : Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const out: NonNullable<GrantRecord['constraints']> = {};
  const equals = sort(c?.EncryptionContextEquals);
  const subset = sort(c?.EncryptionContextSubset);
  if (equals !== undefined) out.EncryptionContextEquals = equals;
  if (subset !== undefined) out.EncryptionContextSubset = subset;
  return out;
}
