import { InvalidGrantIdException } from '../../errors.js';
import { page } from '../../keys/marker.js';
import { grantManagementConditions } from '../../keys/request-conditions.js';
import { KeyIdType, LimitType, MarkerType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { GrantIdType, grantListEntry, PrincipalIdType, ServicePrincipalType } from './grant-shapes.js';

interface ListGrantsInput {
  KeyId: string;
  Limit?: number;
  Marker?: string;
  GrantId?: string;
  GranteePrincipal?: string;
  GranteeServicePrincipal?: string;
}

/** The grants on a key, by grant id, optionally only one grant or one grantee's. */
export const ListGrants = defineOperation({
  name: 'ListGrants',
  input: structure(
    {
      KeyId: KeyIdType,
      Limit: LimitType,
      Marker: MarkerType,
      GrantId: GrantIdType,
      GranteePrincipal: PrincipalIdType,
      GranteeServicePrincipal: ServicePrincipalType,
    },
    ['KeyId'],
  ),
  async handle(ctx, input: ListGrantsInput) {
    const { key } = await ctx.useKey(input.KeyId, 'ListGrants', {
      conditions: grantManagementConditions(ctx.caller.invokedBy !== undefined),
    });
    if (input.GrantId !== undefined && (await ctx.services.grants.get(key.arn, input.GrantId)) === undefined) {
      throw new InvalidGrantIdException(`Grant ID ${input.GrantId} is not valid.`);
    }
    const { items, ...rest } = await page(
      `ListGrants ${key.arn}`,
      Math.min(input.Limit ?? 50, 100),
      input.Marker,
      async (after, limit) =>
        (await ctx.services.grants.all(key.arn))
          .filter((g) => after === undefined || g.grantId > after)
          .filter((g) => input.GrantId === undefined || g.grantId === input.GrantId)
          .filter((g) => input.GranteePrincipal === undefined || g.granteePrincipal === input.GranteePrincipal)
          .filter(() => input.GranteeServicePrincipal === undefined)
          .slice(0, limit),
      (g) => g.grantId,
    );
    return { Grants: items.map(grantListEntry), ...rest };
  },
});
