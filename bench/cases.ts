import { randomBytes } from 'node:crypto';
import { call } from './load.js';
import type { Target } from './servers.js';

/**
 * What is measured: each case is one operation with one request body, built per target from that
 * target's key and ciphertext. The body is the same for every request of a measurement, which is
 * what lets the load generator sign it once (a fresh IV makes every Encrypt reply differ anyway).
 */
export interface Case {
  label: string;
  operation: string;
  body(setup: Setup): string;
}

export interface Setup {
  keyId: string;
  plaintext1k: string;
  plaintext4k: string;
  /** A ciphertext of plaintext1k, made once. */
  ciphertext: string;
}

export const CASES: Case[] = [
  {
    label: 'Encrypt 1 KiB',
    operation: 'Encrypt',
    body: (s) => JSON.stringify({ KeyId: s.keyId, Plaintext: s.plaintext1k }),
  },
  {
    label: 'Encrypt 4 KiB',
    operation: 'Encrypt',
    body: (s) => JSON.stringify({ KeyId: s.keyId, Plaintext: s.plaintext4k }),
  },
  {
    label: 'Decrypt 1 KiB',
    operation: 'Decrypt',
    body: (s) => JSON.stringify({ CiphertextBlob: s.ciphertext }),
  },
  {
    label: 'GenerateDataKey',
    operation: 'GenerateDataKey',
    body: (s) => JSON.stringify({ KeyId: s.keyId, NumberOfBytes: 32 }),
  },
];

/**
 * Creates the symmetric key and checks once that each operation answers what it should: the
 * load generator only looks at status codes, so a 200 with a wrong body must be caught here.
 */
export async function setUp(target: Target): Promise<Setup> {
  const created = (await call(target, 'CreateKey', { Description: 'trent bench' })) as {
    KeyMetadata: { KeyId: string };
  };
  const keyId = created.KeyMetadata.KeyId;
  const plaintext1k = randomBytes(1024).toString('base64');
  const plaintext4k = randomBytes(4096).toString('base64');
  const ciphertext = await encrypt(target, keyId, plaintext1k);
  const decrypted = (await call(target, 'Decrypt', { CiphertextBlob: ciphertext })) as {
    Plaintext: string;
  };
  if (decrypted.Plaintext !== plaintext1k) {
    throw new Error(`${target.name}: Decrypt did not give back the plaintext`);
  }
  const dataKey = (await call(target, 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 32 })) as {
    Plaintext: string;
  };
  if (Buffer.from(dataKey.Plaintext, 'base64').length !== 32) {
    throw new Error(`${target.name}: GenerateDataKey returned a key of the wrong size`);
  }
  return { keyId, plaintext1k, plaintext4k, ciphertext };
}

async function encrypt(target: Target, keyId: string, plaintext: string): Promise<string> {
  const encrypted = (await call(target, 'Encrypt', { KeyId: keyId, Plaintext: plaintext })) as {
    CiphertextBlob: string;
  };
  if (encrypted.CiphertextBlob === plaintext) {
    throw new Error(`${target.name}: Encrypt returned the plaintext`);
  }
  return encrypted.CiphertextBlob;
}
