import { epochSeconds } from '../../keys/key-metadata.js';
import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface GetKeyLastUsageInput {
  KeyId: string;
}

/**
 * The last successful cryptographic use of a key (reference §4.18), answered from the audit
 * trail's per-key index: the operation, its time, its CloudTrail event id and its request id.
 * Key id or key ARN only — aliases are rejected, as AWS rejects them. TrackingStartDate is the
 * later of the audit log's start and the key's creation.
 */
export const GetKeyLastUsage = defineOperation({
  name: 'GetKeyLastUsage',
  input: structure({ KeyId: KeyIdType }, ['KeyId']),
  async handle(ctx, input: GetKeyLastUsageInput) {
    const { key } = await ctx.useKey(input.KeyId, 'GetKeyLastUsage', { allowAlias: false });
    const usage = ctx.services.keyUsage;
    const [last, trackingStart] = await Promise.all([usage.keyLastUsage(key.arn), usage.trackingStart()]);
    return {
      KeyId: key.arn,
      KeyLastUsage:
        last === undefined
          ? {}
          : {
              Operation: last.operation,
              Timestamp: epochSeconds(last.eventTime),
              CloudTrailEventId: last.eventId,
              KmsRequestId: last.requestId,
            },
      TrackingStartDate: epochSeconds(Math.max(trackingStart, key.creationDate)),
      KeyCreationDate: epochSeconds(key.creationDate),
    };
  },
});
