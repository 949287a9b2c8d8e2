/**
 * A blob member of an operation's output (CiphertextBlob, Plaintext, Signature, …): its bytes as
 * base64 text, made where the operation has the bytes (so it can zero them at once, as before).
 * The reply writes the text between quotes as it is — base64 never needs escaping — instead of
 * having JSON.stringify scan it character by character for escapes: for Encrypt 1 KiB's
 * ciphertext that scan was ~5 µs a reply, more than the rest of the reply's JSON
 * (docs/performance-log.md). Anything else that stringifies an output gets the text through `toJSON`.
 */
export class BlobOutput {
  readonly base64: string;

  constructor(bytes: Buffer) {
    this.base64 = bytes.toString('base64');
  }

  toJSON(): string {
    return this.base64;
  }
}

export function blobOutput(bytes: Buffer): BlobOutput {
  return new BlobOutput(bytes);
}
