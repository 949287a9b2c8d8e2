import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { HmacSha256 } from '../../src/crypto/hmac-sha256.js';

describe('HmacSha256', () => {
  // RFC 4231, test cases 1, 2, 6 and 7 (the last two: keys longer than the 64-byte block).
  const vectors = [
    {
      key: Buffer.alloc(20, 0x0b),
      data: 'Hi There',
      mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    },
    {
      key: Buffer.from('Jefe'),
      data: 'what do ya want for nothing?',
      mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    },
    {
      key: Buffer.alloc(131, 0xaa),
      data: 'Test Using Larger Than Block-Size Key - Hash Key First',
      mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    },
    {
      key: Buffer.alloc(131, 0xaa),
      data:
        'This is a test using a larger than block-size key and a larger than block-size data. The key ' +
        'needs to be hashed before being used by the HMAC algorithm.',
      mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    },
  ];
  for (const [i, v] of vectors.entries()) {
    it(`gives RFC 4231's MAC for vector ${i + 1}`, () => {
      assert.equal(new HmacSha256(v.key).hex(v.data), v.mac);
    });
  }

  it('agrees with createHmac for keys of every length around the block and any UTF-8 message', () => {
    const messages = ['', 'a', 'AWS4-HMAC-SHA256\n20261126T000000Z', 'é€😀\u0000', 'x'.repeat(5000)];
    for (let keyLength = 0; keyLength <= 130; keyLength++) {
      const key = randomBytes(keyLength);
      const mac = new HmacSha256(key);
      for (const message of messages) {
        const expected = createHmac('sha256', key).update(message, 'utf8').digest('hex');
        assert.equal(mac.hex(message), expected, `key of ${keyLength} bytes, message of ${message.length} chars`);
      }
    }
  });

  it('gives the same MAC on every call: the pads are not changed by use', () => {
    const key = randomBytes(32);
    const mac = new HmacSha256(key);
    const first = mac.hex('string to sign');
    for (let i = 0; i < 100; i++) mac.hex(`other ${i}`);
    assert.equal(mac.hex('string to sign'), first);
    assert.equal(first, createHmac('sha256', key).update('string to sign').digest('hex'));
  });
});
