import { InvalidCiphertextException } from '../errors.js';
import { parseKeyIdentifier } from './arn.js';

/**
 * The symmetric ciphertext blob, version 1 (documented in docs/ciphertext-format.md):
 *
 *   offset  size  field
 *   0       1     format version, 0x01
 *   1       2     n = byte length of the key ARN (big-endian)
 *   3       n     key ARN, UTF-8
 *   3+n     32    key material id (the 64-hex KeyMaterialId as bytes)
 *   35+n    12    AES-GCM IV
 *   47+n    16    AES-GCM tag
 *   63+n    ...   AES-256-GCM ciphertext
 *
 * The AES-GCM associated data is the header (bytes 0 … 35+n) followed by the canonical
 * encryption context, so changing any byte of the blob, or the context, fails authentication.
 * A 4096-byte plaintext gives a blob of 4159 + n bytes, well under the 6144-byte limit.
 */
export const BLOB_VERSION = 0x01;
const MATERIAL_ID_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const MAX_ARN_LENGTH = 2048;

export interface CiphertextBlob {
  keyArn: string;
  materialId: string;
  /** The header bytes, which are part of the associated data. */
  header: Buffer;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function blobHeader(keyArn: string, materialId: string): Buffer {
  const arn = Buffer.from(keyArn, 'utf8');
  const header = Buffer.allocUnsafe(3 + arn.length + MATERIAL_ID_LENGTH);
  header[0] = BLOB_VERSION;
  header.writeUInt16BE(arn.length, 1);
  arn.copy(header, 3);
  header.write(materialId, 3 + arn.length, 'hex');
  return header;
}

export function encodeBlob(header: Buffer, iv: Buffer, tag: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.concat([header, iv, tag, ciphertext]);
}

/** Parses a blob; anything that is not a well-formed version-1 blob is InvalidCiphertextException. */
export function decodeBlob(blob: Buffer): CiphertextBlob {
  if (blob.length < 3 || blob[0] !== BLOB_VERSION) throw invalid('unknown blob version');
  const arnLength = blob.readUInt16BE(1);
  const headerLength = 3 + arnLength + MATERIAL_ID_LENGTH;
  if (arnLength === 0 || arnLength > MAX_ARN_LENGTH || blob.length < headerLength + IV_LENGTH + TAG_LENGTH) {
    throw invalid('truncated blob');
  }
  const keyArn = blob.toString('utf8', 3, 3 + arnLength);
  // A blob Trent wrote always names a well-formed key ARN; anything else is damage, not a key
  // the caller cannot see.
  if (parseKeyIdentifier(keyArn).kind !== 'keyArn') throw invalid('the blob names no key ARN');
  const ivStart = headerLength;
  const tagStart = ivStart + IV_LENGTH;
  const dataStart = tagStart + TAG_LENGTH;
  return {
    keyArn,
    materialId: blob.toString('hex', 3 + arnLength, headerLength),
    header: blob.subarray(0, headerLength),
    iv: blob.subarray(ivStart, tagStart),
    tag: blob.subarray(tagStart, dataStart),
    ciphertext: blob.subarray(dataStart),
  };
}

function invalid(detail: string): InvalidCiphertextException {
  return new InvalidCiphertextException('', detail);
}
