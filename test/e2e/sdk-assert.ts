import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

/**
 * Assertions shared by the end-to-end tests that drive Trent through `@aws-sdk/client-kms`.
 *
 * Every client error must reach the SDK as AWS sends it: the code as the error's `name`, AWS's
 * words as its `message`, HTTP 400 (real KMS answers every client error with 400, whatever the
 * Smithy traits say — reference Appendix A) and a client fault.
 */
export async function rejectsWith(call: Promise<unknown>, name: string, message: string | RegExp): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    const e = err as { name?: unknown; message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number } };
    assert.equal(e.name, name, `expected ${name}, got ${String(e.name)}: ${String(e.message)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(String(e.message), message);
    assert.equal(e.$metadata?.httpStatusCode, 400, `${name} came with HTTP ${e.$metadata?.httpStatusCode}`);
    assert.equal(e.$fault, 'client');
    return true;
  });
}

/**
 * What the JS SDK shows as `message` when the error body has none — as AWS sends
 * InvalidCiphertextException (reference §1.3.1, Appendix A).
 */
export const NO_MESSAGE = 'UnknownError';

export const DRY_RUN_MESSAGE = 'The request would have succeeded, but the DryRun option is set.';

/** A KeyMaterialId: 64 lower-case hex characters (reference §2.1). */
export const KEY_MATERIAL_ID = /^[0-9a-f]{64}$/;

export const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A name no other test (or earlier run on the same store) uses. */
export function uniqueAlias(label: string): string {
  return `alias/${label}-${randomBytes(6).toString('hex')}`;
}

/** The SDK returns blobs as Uint8Array; compare them as Buffers. */
export function bytes(value: Uint8Array | undefined): Buffer {
  assert.ok(value !== undefined, 'expected a blob, got none');
  return Buffer.from(value);
}
