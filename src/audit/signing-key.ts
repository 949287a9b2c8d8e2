import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { unwrapSecret, wrapSecret } from '../crypto/wrap.js';
import type { Store } from '../storage/store.js';

/**
 * The deployment's audit signing key: Ed25519, generated once at first start (two processes
 * starting together agree through the store), the private key kept only wrapped under the root key
 * like every other secret. Its public key (SPKI PEM) is published by `trent audit public-key`.
 */
const META = 'audit-signing-key';
const WRAP_CONTEXT = 'trent:audit-signing-key';
export const SIGNATURE_ALGORITHM = 'Ed25519';

export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
  fingerprint: string;
}

interface Stored {
  algorithm: string;
  publicKey: string;
  wrappedPrivateKey: string;
}

export async function setUpAuditSigningKey(store: Store, rootKey: Buffer): Promise<AuditSigningKey> {
  let text = await store.getMeta(META);
  if (text === undefined) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    const candidate: Stored = {
      algorithm: SIGNATURE_ALGORITHM,
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      wrappedPrivateKey: wrapSecret(rootKey, der, WRAP_CONTEXT).toString('base64'),
    };
    der.fill(0);
    text = await store.putMetaIfAbsent(META, JSON.stringify(candidate));
  }
  const stored = JSON.parse(text) as Stored;
  const der = unwrapSecret(rootKey, Buffer.from(stored.wrappedPrivateKey, 'base64'), WRAP_CONTEXT);
  if (der === undefined) throw new Error('The audit signing key does not unwrap under this root key.');
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  return auditSigningKey(privateKey, createPublicKey(stored.publicKey), stored.publicKey);
}

export function auditSigningKey(
  privateKey: KeyObject,
  publicKey: KeyObject,
  publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString(),
): AuditSigningKey {
  return { privateKey, publicKey, publicKeyPem, fingerprint: fingerprintOf(publicKey) };
}

/** The public key alone, for verification (no root key needed). */
export async function readAuditPublicKey(store: Store): Promise<string | undefined> {
  const text = await store.getMeta(META);
  return text === undefined ? undefined : (JSON.parse(text) as Stored).publicKey;
}

/** Hex SHA-256 of the DER SubjectPublicKeyInfo. */
export function fingerprintOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}
