import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { linkRecord } from '../../src/audit/chain.js';
import { GENESIS_HASH } from '../../src/storage/audit-log.js';

/** The chain's definition (docs/audit.md), written the plain way. */
function reference(previousHash: string, recordText: string): string {
  return createHash('sha256').update(Buffer.from(previousHash, 'hex')).update(recordText, 'utf8').digest('hex');
}

describe('linkRecord', () => {
  it('is SHA-256 of the previous hash as 32 raw bytes and the record as UTF-8', () => {
    const texts = [
      '',
      '{"eventName":"Encrypt"}',
      '{"encryptionContext":{"é€😀":"\u0000"}}',
      // Around the reused input buffer's 16 KiB (the hash's 32 bytes, then the record's UTF-8):
      // filling it exactly, one byte over, and two-byte characters ending at its edge.
      'x'.repeat(16_352),
      'x'.repeat(16_353),
      'é'.repeat(8_176),
      'y'.repeat(70_000),
      // A short record after longer ones: nothing of theirs may be hashed with it.
      'short',
    ];
    for (const text of texts) {
      for (const previous of [
        GENESIS_HASH,
        randomBytes(32).toString('hex'),
        randomBytes(32).toString('hex').toUpperCase(),
      ]) {
        assert.equal(linkRecord(previous, text), reference(previous, text), `${previous} / ${text.slice(0, 20)}`);
      }
    }
  });

  it('chains: each link depends on the one before', () => {
    let a = GENESIS_HASH;
    let b = GENESIS_HASH;
    for (let i = 0; i < 50; i++) {
      a = linkRecord(a, `record ${i}`);
      b = reference(b, `record ${i}`);
    }
    assert.equal(a, b);
  });

  it('hashes a damaged previous hash as Buffer.from decodes it, without throwing', () => {
    const good = randomBytes(32).toString('hex');
    for (const damaged of ['', 'zz', good.slice(0, 63), `${good}00`, `${good.slice(0, 10)}xx${good.slice(12)}`]) {
      assert.equal(linkRecord(damaged, 'text'), reference(damaged, 'text'), `'${damaged}'`);
    }
  });
});
