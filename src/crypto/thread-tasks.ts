import { createSecretKey, type KeyObject } from 'node:crypto';
import { ecdhSharedSecret } from './ecdh.js';
import { ecdsaSign, ecdsaVerify } from './ecdsa.js';
import { ed25519phSign, ed25519phVerify } from './eddsa.js';
import {
  type MlDsaInput,
  type MlDsaLevel,
  mlDsaExpand,
  mlDsaPublicKey,
  mlDsaSign,
  mlDsaSpki,
  mlDsaVerify,
} from './ml-dsa.js';
import { oaepDecrypt, rsaSign } from './rsa.js';

/**
 * What CryptoThreads (crypto-threads.ts) runs on its threads: the primitives that cost from a few
 * hundred µs to several ms and that Node cannot run on libuv's pool — pure-JavaScript ones
 * (@noble: ECDSA and Ed25519ph over a digest, ML-DSA) and OpenSSL calls with no asynchronous form
 * (`privateEncrypt`, `privateDecrypt`, `diffieHellman`). Each task is the ordinary primitive; which
 * calls go to a thread is decided where they are made (keys/signing.ts, …). Arguments and results
 * cross threads by structured clone: a KeyObject arrives as a clone of the same OpenSSL key, so key
 * bytes are never copied into a message.
 */
export const THREAD_TASKS = {
  ecdsaSign,
  ecdsaVerify,
  rsaSign,
  oaepDecrypt,
  ed25519phSign,
  ed25519phVerify,
  /** ML-DSA keys are secret KeyObjects holding the secret key; its bytes exist only for the call. */
  mlDsaSign(level: MlDsaLevel, key: KeyObject, input: MlDsaInput): Buffer {
    const secretKey = key.export();
    try {
      return mlDsaSign(level, secretKey, input);
    } finally {
      secretKey.fill(0);
    }
  },
  mlDsaVerify,
  /**
   * An ML-DSA key's in-memory form from its stored seed (2–3 ms of expansion): both cross threads
   * as secret KeyObjects, so neither the seed nor the secret key is copied into a message.
   */
  mlDsaLoad(level: MlDsaLevel, seed: KeyObject): KeyObject {
    const seedBytes = seed.export();
    const { secretKey } = mlDsaExpand(level, seedBytes);
    seedBytes.fill(0);
    try {
      return createSecretKey(secretKey);
    } finally {
      secretKey.fill(0);
    }
  },
  /** The DER SubjectPublicKeyInfo of a loaded ML-DSA key (1–2.5 ms). */
  mlDsaSpkiOf(level: MlDsaLevel, key: KeyObject): Buffer {
    const secretKey = key.export();
    try {
      return mlDsaSpki(level, mlDsaPublicKey(level, secretKey));
    } finally {
      secretKey.fill(0);
    }
  },
  ecdhSharedSecret,
};

export type ThreadTasks = typeof THREAD_TASKS;
export type ThreadTask = keyof ThreadTasks;
