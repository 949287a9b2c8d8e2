import {
  type KeyObject,
  type SignKeyObjectInput,
  type SignPrivateKeyInput,
  sign,
  type VerifyKeyObjectInput,
  verify,
} from 'node:crypto';

/**
 * OpenSSL signatures on libuv's thread pool (Node's `sign`/`verify` with a callback), for the
 * private- and public-key operations that cost hundreds of µs or more: done inline they stop every
 * other request on the event loop for that long (RSA-4096 or P-521: ~2–4 ms a signature), and
 * they use one core however many requests wait. Measured on the 2-CPU machine (docs/performance-log.md):
 * an RSA-2048 signature costs the event loop ~258 µs inline and ~32 µs this way. A cheap operation
 * (P-256, Ed25519, an RSA public-key check) stays inline: the hop to the pool and back costs more
 * than it saves.
 */
type PrivateKey = KeyObject | SignKeyObjectInput | SignPrivateKeyInput;

export function signOffLoop(algorithm: string | null, data: Buffer, key: PrivateKey): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign(algorithm, data, key, (err, signature) => (err === null ? resolve(signature) : reject(err)));
  });
}

/** False for an invalid signature, and for one OpenSSL cannot even parse. */
export function verifyOffLoop(
  algorithm: string | null,
  data: Buffer,
  key: KeyObject | VerifyKeyObjectInput,
  signature: Buffer,
): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(algorithm, data, key, signature, (err, valid) => resolve(err === null && valid));
    } catch {
      // Argument errors are thrown before the job is queued.
      resolve(false);
    }
  });
}
