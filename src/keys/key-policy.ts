import { LimitExceededException, MalformedPolicyDocumentException } from '../errors.js';

/**
 * The checks a key policy gets before it is stored (reference §4.9). Evaluation of policies comes
 * with the access-control work; until then a policy must be a well-formed JSON document within the
 * 32 KB quota, with a Version and at least one statement.
 */
export const MAX_POLICY_BYTES = 32768;

export function checkKeyPolicy(policy: string): void {
  if (Buffer.byteLength(policy, 'utf8') > MAX_POLICY_BYTES) {
    throw new LimitExceededException(`Policy document exceeds the maximum size of ${MAX_POLICY_BYTES} bytes.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch (err) {
    throw new MalformedPolicyDocumentException(
      `The policy is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new MalformedPolicyDocumentException('The policy must be a JSON object.');
  }
  const { Statement } = doc as { Statement?: unknown };
  const statements = Array.isArray(Statement) ? Statement : Statement === undefined ? [] : [Statement];
  if (statements.length === 0) {
    throw new MalformedPolicyDocumentException('The policy must contain at least one Statement.');
  }
  for (const [i, s] of statements.entries()) {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) {
      throw new MalformedPolicyDocumentException(`Statement ${i + 1} of the policy must be a JSON object.`);
    }
    const effect = (s as { Effect?: unknown }).Effect;
    if (effect !== 'Allow' && effect !== 'Deny') {
      throw new MalformedPolicyDocumentException(
        `Statement ${i + 1} of the policy has an invalid Effect: it must be "Allow" or "Deny".`,
      );
    }
  }
}
