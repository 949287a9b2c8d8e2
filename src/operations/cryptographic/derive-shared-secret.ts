import { offThread } from '../../crypto/crypto-threads.js';
import { ecdhSharedSecret, parsePeerKey } from '../../crypto/ecdh.js';
import { ValidationException } from '../../errors.js';
import { requireAlgorithm, requireKeyUsage } from '../../keys/key-usage.js';
import { keyAgreementConditions } from '../../keys/request-conditions.js';
import { currentMaterial } from '../../keys/signing.js';
import { blobOutput } from '../../wire/blob-output.js';
import {
  BooleanType,
  enumOf,
  GrantTokenList,
  KeyIdType,
  PublicKeyType,
  RecipientType,
  structure,
} from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { finishDryRun, refuseRecipient } from './dry-run.js';

interface DeriveSharedSecretInput {
  KeyId: string;
  KeyAgreementAlgorithm: string;
  PublicKey: Buffer;
  GrantTokens?: string[];
  DryRun?: boolean;
  Recipient?: unknown;
}

/**
 * ECDH between the KMS key's private key and the caller's public key (reference §4.18): the raw
 * shared secret, no KDF. A peer key that is not a DER SPKI on the same curve is a
 * ValidationException with no message, as AWS answers (Appendix A).
 */
export const DeriveSharedSecret = defineOperation({
  name: 'DeriveSharedSecret',
  input: structure(
    {
      KeyId: KeyIdType,
      KeyAgreementAlgorithm: enumOf(['ECDH']),
      PublicKey: PublicKeyType,
      GrantTokens: GrantTokenList,
      DryRun: BooleanType,
      Recipient: RecipientType,
    },
    ['KeyId', 'KeyAgreementAlgorithm', 'PublicKey'],
  ),
  async handle(ctx, input: DeriveSharedSecretInput) {
    refuseRecipient(input.Recipient);
    const { key } = await ctx.useKey(input.KeyId, 'DeriveSharedSecret', {
      allowAlias: true,
      grantTokens: input.GrantTokens,
      conditions: keyAgreementConditions(input.KeyAgreementAlgorithm),
    });
    requireKeyUsage(key, 'KEY_AGREEMENT', 'DeriveSharedSecret');
    requireAlgorithm(key, input.KeyAgreementAlgorithm);
    const privateKey = await currentMaterial(ctx.keys, key);
    const peer = parsePeerKey(privateKey, input.PublicKey);
    if (peer === undefined) throw new ValidationException('', 'the public key is not a DER SPKI on the key curve');
    finishDryRun(input.DryRun);
    // P-256 inline (~100 µs); P-384, P-521 and secp256k1 (0.6–2.7 ms) on a crypto thread.
    const secret =
      privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? ecdhSharedSecret(privateKey, peer)
        : await offThread('ecdhSharedSecret', privateKey, peer);
    const SharedSecret = blobOutput(secret);
    secret.fill(0);
    return { KeyId: key.arn, SharedSecret, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: key.origin };
  },
});
