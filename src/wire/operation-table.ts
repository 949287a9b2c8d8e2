import { SerializationException, UnknownOperationException } from '../errors.js';
import type { StructureShape } from './shapes.js';
import { compileValidator, type Validator } from './validate.js';

/**
 * The operation table: X-Amz-Target → operation, with each operation's validator compiled once at
 * start (the hot path only looks up and runs it).
 */
const TARGET_PREFIX = 'TrentService.';
const CONTENT_TYPES = new Set(['application/x-amz-json-1.1']);

export interface TableEntry<T> {
  operation: T;
  validate: Validator;
}

export class OperationTable<T extends { name: string; input: StructureShape }> {
  private readonly entries = new Map<string, TableEntry<T>>();

  constructor(operations: readonly T[]) {
    for (const operation of operations) {
      this.entries.set(`${TARGET_PREFIX}${operation.name}`, { operation, validate: compileValidator(operation.input) });
    }
  }

  /**
   * The operation a request names. A missing or unknown target, or a body that is not declared as
   * AWS JSON 1.1, is UnknownOperationException: AWS's front end cannot route it to an operation.
   */
  lookup(target: string | undefined, contentType: string | undefined): TableEntry<T> {
    const entry = target === undefined ? undefined : this.entries.get(target);
    if (entry === undefined) {
      throw new UnknownOperationException(
        target === undefined
          ? 'The request has no X-Amz-Target header naming an operation.'
          : `The X-Amz-Target header names no known operation: ${target}.`,
      );
    }
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType === undefined || !CONTENT_TYPES.has(mediaType)) {
      throw new UnknownOperationException(
        `Requests must be sent with Content-Type application/x-amz-json-1.1, not ${contentType ?? 'none'}.`,
      );
    }
    return entry;
  }

  get names(): string[] {
    return [...this.entries.values()].map((e) => e.operation.name);
  }
}

/** JSON text → value; anything unparsable is SerializationException. An empty body is `{}`. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new SerializationException(
      `The request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
