import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as errors from '../../src/errors.js';

const classes = Object.entries(errors).filter(
  ([, value]) => typeof value === 'function' && value.prototype instanceof errors.KmsError,
) as [string, new (message?: string) => errors.KmsError][];

describe('error catalogue', () => {
  it('has one class per code, named as the wire __type', () => {
    assert.deepEqual(classes.map(([name]) => name).sort(), [...errors.ERROR_CODES].sort());
    assert.ok(classes.length >= 48 + 10, `only ${classes.length} error classes`);
    for (const [name, ErrorClass] of classes) {
      const error = new ErrorClass('m');
      assert.equal(error.code, name);
      assert.ok(errors.isErrorCode(error.code));
    }
  });

  it('sends 400 for every client error and 5xx only for internal or dependency failures', () => {
    const serverSide = new Set(['KMSInternalException', 'KeyUnavailableException', 'DependencyTimeoutException']);
    for (const [name, ErrorClass] of classes) {
      const status = new ErrorClass().status;
      if (serverSide.has(name)) assert.ok(status >= 500, name);
      else if (name === 'RequestEntityTooLargeException') assert.equal(status, 413);
      else assert.equal(status, 400, name);
    }
  });

  it('turns anything unexpected into KMSInternalException with a generic message', () => {
    const wrapped = errors.toKmsError(new TypeError('secret internals at line 3'));
    assert.equal(wrapped.code, 'KMSInternalException');
    assert.doesNotMatch(wrapped.message, /secret internals/);
    assert.match(wrapped.detail ?? '', /secret internals/);
  });
});
