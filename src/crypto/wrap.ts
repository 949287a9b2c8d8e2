import { IV_LENGTH, open, seal, TAG_LENGTH } from './aes-gcm.js';

/**
 * Wrapping of secrets (key material, secret access keys) under the deployment's root key.
 *
 * Layout: version (1 byte, 0x01) ‖ IV (12) ‖ tag (16) ‖ ciphertext. The caller's `context` (for key
 * material: the key ARN and material id) is bound as associated data together with the version
 * byte, so a wrapped blob copied to another key or row does not unwrap.
 */
const WRAP_VERSION = 0x01;
const HEADER_LENGTH = 1 + IV_LENGTH + TAG_LENGTH;

export function wrapSecret(rootKey: Buffer, secret: Buffer, context: string): Buffer {
  const header = Buffer.of(WRAP_VERSION);
  const sealed = seal(rootKey, secret, associatedData(header, context));
  return Buffer.concat([header, sealed.iv, sealed.tag, sealed.ciphertext]);
}

/** Returns the secret, or undefined when the blob is not ours, altered, or bound elsewhere. */
export function unwrapSecret(rootKey: Buffer, wrapped: Buffer, context: string): Buffer | undefined {
  if (wrapped.length < HEADER_LENGTH || wrapped[0] !== WRAP_VERSION) return undefined;
  const iv = wrapped.subarray(1, 1 + IV_LENGTH);
  const tag = wrapped.subarray(1 + IV_LENGTH, HEADER_LENGTH);
  const ciphertext = wrapped.subarray(HEADER_LENGTH);
  return open(rootKey, { iv, tag, ciphertext }, associatedData(wrapped.subarray(0, 1), context));
}

function associatedData(header: Buffer, context: string): Buffer {
  return Buffer.concat([header, Buffer.from(context, 'utf8')]);
}
