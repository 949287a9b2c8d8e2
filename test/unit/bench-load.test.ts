import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import { BodySequence } from '../../bench/load.js';
import type { Target } from '../../bench/servers.js';
import { Signer } from '../../bench/signer.js';

describe('BodySequence', () => {
  it('hands out each body once, in order, then starts again and counts the repeats', () => {
    const sequence = new BodySequence(['a', 'b', 'c']);
    assert.deepEqual([sequence.take(), sequence.take(), sequence.take()], ['a', 'b', 'c']);
    assert.equal(sequence.repeated, 0);
    assert.deepEqual([sequence.take(), sequence.take()], ['a', 'b']);
    assert.equal(sequence.repeated, 2);
  });

  it('refuses an empty list', () => {
    assert.throws(() => new BodySequence([]), /needs a body/);
  });
});

describe('Signer', () => {
  const target = {
    name: 'trent',
    url: new URL('http://127.0.0.1:4000'),
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  } as Target;

  afterEach(() => mock.timers.reset());

  it('keeps a body’s signature for ten minutes, then signs it again with the new time', () => {
    mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 10, 26, 12, 0, 30) });
    const signer = new Signer(target);
    const first = signer.headers('Encrypt', '{"KeyId":"k"}');
    assert.equal(first['x-amz-date'], '20261126T120000Z');

    mock.timers.tick(9 * 60_000);
    assert.equal(signer.headers('Encrypt', '{"KeyId":"k"}'), first);
    // Another body is signed at its own minute.
    assert.equal(signer.headers('Encrypt', '{"KeyId":"other"}')['x-amz-date'], '20261126T120900Z');

    mock.timers.tick(60_000);
    const again = signer.headers('Encrypt', '{"KeyId":"k"}');
    assert.equal(again['x-amz-date'], '20261126T121000Z');
    assert.notEqual(again.authorization, first.authorization);
  });
});
