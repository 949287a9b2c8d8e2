import { aliasArn } from '../../keys/arn.js';
import { epochSeconds } from '../../keys/key-metadata.js';
import { page } from '../../keys/marker.js';
import { KeyIdType, LimitType, MarkerType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface ListAliasesInput {
  KeyId?: string;
  Limit?: number;
  Marker?: string;
}

// The model allows Limit up to 1000; AWS documents 1–100 for ListAliases and returns at most 100.
const MAX_LIMIT = 100;

export const ListAliases = defineOperation({
  name: 'ListAliases',
  input: structure({ KeyId: KeyIdType, Limit: LimitType, Marker: MarkerType }),
  async handle(ctx, input: ListAliasesInput) {
    if (input.KeyId === undefined) await ctx.authorizeAccount('kms:ListAliases');
    const target = input.KeyId === undefined ? undefined : (await ctx.useKey(input.KeyId, 'ListAliases')).key;
    const { items, ...rest } = await page(
      target === undefined ? 'ListAliases' : `ListAliases ${target.keyId}`,
      Math.min(input.Limit ?? 50, MAX_LIMIT),
      input.Marker,
      (after, limit) => ctx.keys.listAliases(ctx, after === undefined ? { limit } : { limit, after }, target?.keyId),
      (alias) => alias.aliasName,
    );
    const Aliases = items.map((a) => ({
      AliasName: a.aliasName,
      AliasArn: aliasArn(a.region, a.accountId, a.aliasName),
      TargetKeyId: a.targetKeyId,
      CreationDate: epochSeconds(a.creationDate),
      LastUpdatedDate: epochSeconds(a.lastUpdatedDate),
    }));
    return { Aliases, ...rest };
  },
});
