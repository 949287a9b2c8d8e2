/**
 * The canonical encoding of an encryption context, bound as AES-GCM associated data.
 *
 * Pairs are sorted by the UTF-8 bytes of their keys; the encoding is a 4-byte big-endian pair
 * count, then for each pair the key and the value, each as a 4-byte big-endian byte length
 * followed by the UTF-8 bytes. Length prefixes make the encoding injective (no two contexts encode
 * alike), and an absent context encodes exactly as `{}` (reference §4.5). Documented in
 * docs/ciphertext-format.md; never change it: blobs are forever.
 */
export type EncryptionContext = Readonly<Record<string, string>>;

const EMPTY = Buffer.alloc(4);

export function encodeEncryptionContext(context: EncryptionContext | undefined): Buffer {
  if (context === undefined) return EMPTY;
  const pairs = Object.entries(context).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  if (pairs.length === 0) return EMPTY;
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + v.length;
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt32BE(pairs.length, 0);
  for (const [k, v] of pairs) {
    at = out.writeUInt32BE(k.length, at);
    at += k.copy(out, at);
    at = out.writeUInt32BE(v.length, at);
    at += v.copy(out, at);
  }
  return out;
}
