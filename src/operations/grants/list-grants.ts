import { InvalidGrantIdException } from '../../errors.js';
import { page } from '../../keys/marker.js';
import { grantManagementConditions } from '../../keys/request-conditions.js';
import type { GrantRecord } from '../../storage/grant-store.js';
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
    const grants = ctx.services.grants;
    const named = input.GrantId === undefined ? undefined : await grants.get(key.arn, input.GrantId);
    if (input.GrantId !== undefined && named === undefined) {
      throw new InvalidGrantIdException(`Grant ID ${input.GrantId} is not valid.`);
    }
    const grantee = input.GranteePrincipal;
    const { items, ...rest } = await page(
      `ListGrants ${key.arn}`,
      Math.min(input.Limit ?? 50, 100),
      input.Marker,
      async (after, limit): Promise<GrantRecord[]> => {
        if (input.GranteeServicePrincipal !== undefined) return [];
        if (named !== undefined) {
          const listed =
            (after === undefined || named.grantId > after) &&
            (grantee === undefined || named.granteePrincipal === grantee);
          return listed ? [named] : [];
        }
        return grants.list(key.arn, { after, limit }, grantee);
      },
      (g) => g.grantId,
    );
    return { Grants: items.map(grantListEntry), ...rest };
  },
});
