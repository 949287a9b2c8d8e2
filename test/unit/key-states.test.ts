import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DisabledException, KMSInvalidStateException } from '../../src/errors.js';
import { checkKeyState, KEY_STATE_TABLE, type StateCheckedOperation } from '../../src/keys/key-states.js';
import { KEY_STATES, type KeyRecord, type KeyState } from '../../src/storage/records.js';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const keyIn = (keyState: KeyState) => ({ arn: ARN, keyState }) as KeyRecord;

function outcome(operation: StateCheckedOperation, state: KeyState): string {
  try {
    checkKeyState(operation, keyIn(state));
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof DisabledException || err instanceof KMSInvalidStateException);
    return `${err.code}: ${err.message}`;
  }
}

describe('key-state table', () => {
  it('lets cryptographic operations run only on enabled (or updating) keys, with AWS messages', () => {
    assert.equal(outcome('Encrypt', 'Enabled'), 'ok');
    assert.equal(outcome('Encrypt', 'Updating'), 'ok');
    assert.equal(outcome('Encrypt', 'Disabled'), `DisabledException: ${ARN} is disabled.`);
    assert.equal(outcome('Decrypt', 'PendingDeletion'), `KMSInvalidStateException: ${ARN} is pending deletion.`);
    assert.equal(
      outcome('GenerateDataKey', 'PendingReplicaDeletion'),
      `KMSInvalidStateException: ${ARN} is pending replica deletion.`,
    );
    assert.equal(outcome('ReEncrypt', 'PendingImport'), `KMSInvalidStateException: ${ARN} is pending import.`);
    assert.equal(outcome('Encrypt', 'Unavailable'), `KMSInvalidStateException: ${ARN} is unavailable.`);
    assert.equal(outcome('Encrypt', 'Creating'), `KMSInvalidStateException: ${ARN} is creating.`);
  });

  it('allows CancelKeyDeletion only while pending deletion', () => {
    for (const state of KEY_STATES) {
      const expected =
        state === 'PendingDeletion' || state === 'PendingReplicaDeletion'
          ? 'ok'
          : `KMSInvalidStateException: ${ARN} is not pending deletion.`;
      assert.equal(outcome('CancelKeyDeletion', state), expected, state);
    }
  });

  it('lets DescribeKey, DeleteAlias and the List operations run in every state', () => {
    for (const operation of ['DescribeKey', 'DeleteAlias', 'ListAliases', 'ListResourceTags'] as const) {
      for (const state of KEY_STATES) assert.equal(outcome(operation, state), 'ok', `${operation} ${state}`);
    }
  });

  it('refuses changes to keys pending deletion', () => {
    for (const operation of [
      'CreateAlias',
      'TagResource',
      'UntagResource',
      'UpdateKeyDescription',
      'EnableKey',
      'DisableKey',
      'ScheduleKeyDeletion',
    ] as const) {
      assert.equal(
        outcome(operation, 'PendingDeletion'),
        `KMSInvalidStateException: ${ARN} is pending deletion.`,
        operation,
      );
    }
  });

  it('has a rule for every state of every operation', () => {
    for (const [operation, rules] of Object.entries(KEY_STATE_TABLE)) {
      assert.deepEqual(Object.keys(rules).sort(), [...KEY_STATES].sort(), operation);
    }
  });
});
