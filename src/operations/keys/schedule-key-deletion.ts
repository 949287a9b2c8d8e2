import { ValidationException } from '../../errors.js';
import { epochSeconds } from '../../keys/key-metadata.js';
import { deletionConditions } from '../../keys/request-conditions.js';
import { KeyIdType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';

interface ScheduleKeyDeletionInput {
  KeyId: string;
  PendingWindowInDays?: number;
}

const DAY_MS = 86_400_000;

export const ScheduleKeyDeletion = defineOperation({
  name: 'ScheduleKeyDeletion',
  input: structure({ KeyId: KeyIdType, PendingWindowInDays: { type: 'integer', min: 1, max: 365 } }, ['KeyId']),
  async handle(ctx, input: ScheduleKeyDeletionInput) {
    // The model allows 1–365; AWS documents and enforces 7–30 (reference §4.7).
    const days = input.PendingWindowInDays ?? 30;
    if (days < 7 || days > 30) {
      throw new ValidationException(`PendingWindowInDays should be between 7 and 30, but it is ${days}`);
    }
    const deletionDate = ctx.clock.now() + days * DAY_MS;
    const updated = await ctx.changeKey(
      input.KeyId,
      'ScheduleKeyDeletion',
      (current) => ({ ...current, keyState: 'PendingDeletion', deletionDate, pendingWindowInDays: days }),
      { conditions: deletionConditions(days) },
    );
    return {
      KeyId: updated.arn,
      DeletionDate: epochSeconds(deletionDate),
      KeyState: updated.keyState,
      PendingWindowInDays: days,
    };
  },
});
