import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';

/**
 * ECDH (NIST SP 800-56A §5.7.1.2, the cofactor Diffie-Hellman primitive; the NIST curves have
 * cofactor 1): the raw shared secret Z — the x-coordinate, field-size bytes — with no KDF.
 */

/** The peer's key, when `spki` is a DER SubjectPublicKeyInfo on the private key's curve. */
export function parsePeerKey(privateKey: KeyObject, spki: Buffer): KeyObject | undefined {
  try {
    const peer = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    if (peer.asymmetricKeyType !== 'ec') return undefined;
    if (peer.asymmetricKeyDetails?.namedCurve !== privateKey.asymmetricKeyDetails?.namedCurve) return undefined;
    return peer;
  } catch {
    return undefined;
  }
}

export function ecdhSharedSecret(privateKey: KeyObject, peer: KeyObject): Buffer {
  return diffieHellman({ privateKey, publicKey: peer });
}
