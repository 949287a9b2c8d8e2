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

describe('key-state table: the rows that depend on the kind of key (footnotes 6, 7, 9)', () => {
  const key = (keyState: KeyState, over: Partial<KeyRecord> = {}) =>
    ({ arn: ARN, keyState, keySpec: 'SYMMETRIC_DEFAULT', origin: 'AWS_KMS', ...over }) as KeyRecord;
  const verdict = (operation: StateCheckedOperation, k: KeyRecord): string => {
    try {
      checkKeyState(operation, k);
      return 'ok';
    } catch (err) {
      return `${(err as { code: string }).code}: ${(err as Error).message}`;
    }
  };
  const external = { origin: 'EXTERNAL' };
  const hmac = { keySpec: 'HMAC_256' };

  it('lets only symmetric keys with generated material change automatic rotation', () => {
    assert.equal(verdict('EnableKeyRotation', key('Enabled')), 'ok');
    assert.equal(verdict('EnableKeyRotation', key('Enabled', hmac)), 'UnsupportedOperationException: ');
    assert.equal(
      verdict('EnableKeyRotation', key('Enabled', external)),
      `UnsupportedOperationException: ${ARN} origin is EXTERNAL which is not valid for this operation.`,
    );
    // The state errors come first (footnote 7).
    assert.equal(verdict('DisableKeyRotation', key('Disabled', hmac)), `DisabledException: ${ARN} is disabled.`);
    assert.equal(
      verdict('GetKeyRotationStatus', key('PendingImport', external)),
      `UnsupportedOperationException: ${ARN} origin is EXTERNAL which is not valid for this operation.`,
    );
    assert.equal(verdict('GetKeyRotationStatus', key('PendingDeletion')), 'ok');
    assert.equal(verdict('EnableKeyRotation', key('Unavailable')), 'UnsupportedOperationException: ');
  });

  it('lets symmetric keys with imported material rotate on demand and list rotations', () => {
    assert.equal(verdict('RotateKeyOnDemand', key('Enabled', external)), 'ok');
    assert.equal(verdict('ListKeyRotations', key('PendingImport', external)), 'ok');
    assert.equal(verdict('RotateKeyOnDemand', key('Enabled', hmac)), 'UnsupportedOperationException: ');
    assert.equal(verdict('RotateKeyOnDemand', key('Updating')), `KMSInvalidStateException: ${ARN} is updating.`);
  });

  it('lets only keys with imported material take import calls', () => {
    assert.equal(verdict('GetParametersForImport', key('PendingImport', external)), 'ok');
    assert.equal(verdict('ImportKeyMaterial', key('Disabled', external)), 'ok');
    assert.equal(
      verdict('GetParametersForImport', key('Enabled')),
      `UnsupportedOperationException: ${ARN} origin is AWS_KMS which is not valid for this operation.`,
    );
    // Pending deletion: "8/9" — 9 for keys that cannot have imported material, else 8.
    assert.equal(
      verdict('ImportKeyMaterial', key('PendingDeletion')),
      `UnsupportedOperationException: ${ARN} origin is AWS_KMS which is not valid for this operation.`,
    );
    assert.equal(
      verdict('ImportKeyMaterial', key('PendingDeletion', external)),
      `KMSInvalidStateException: ${ARN} is pending deletion.`,
    );
    assert.equal(verdict('DeleteImportedKeyMaterial', key('PendingDeletion', external)), 'ok');
    assert.equal(verdict('ImportKeyMaterial', key('Updating', external)), 'ok');
    assert.equal(
      verdict('GetParametersForImport', key('Updating', external)),
      `KMSInvalidStateException: ${ARN} is updating.`,
    );
  });
});
