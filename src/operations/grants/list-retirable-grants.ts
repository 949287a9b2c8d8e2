import { ValidationException } from '../../errors.js';
import { page } from '../../keys/marker.js';
import { LimitType, MarkerType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { grantListEntry, PrincipalIdType, ServicePrincipalType } from './grant-shapes.js';

interface ListRetirableGrantsInput {
  Limit?: number;
  Marker?: string;
  RetiringPrincipal?: string;
  RetiringServicePrincipal?: string;
}

/** Grants on keys of any account whose retiring principal is the one named (IAM policies decide). */
export const ListRetirableGrants = defineOperation({
  name: 'ListRetirableGrants',
  input: structure({
    Limit: LimitType,
    Marker: MarkerType,
    RetiringPrincipal: PrincipalIdType,
    RetiringServicePrincipal: ServicePrincipalType,
  }),
  async handle(ctx, input: ListRetirableGrantsInput) {
    await ctx.authorizeAccount('kms:ListRetirableGrants');
    const principal = input.RetiringPrincipal;
    if (principal === undefined || input.RetiringServicePrincipal !== undefined) {
      throw new ValidationException('Specify exactly one of RetiringPrincipal and RetiringServicePrincipal.');
    }
    const { items, ...rest } = await page(
      `ListRetirableGrants ${principal}`,
      Math.min(input.Limit ?? 50, 100),
      input.Marker,
      (after, limit) =>
        ctx.services.grants.listRetirable(principal, after === undefined ? { limit } : { limit, after }),
      (g) => `${g.keyArn} ${g.grantId}`,
    );
    return { Grants: items.map(grantListEntry), ...rest };
  },
});
