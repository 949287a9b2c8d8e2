import type { StructureShape } from '../wire/shapes.js';
import type { RequestContext } from './context.js';

/**
 * One AWS KMS API operation: its name on the wire (`TrentService.<name>`), its input shape, and
 * its handler. A handler returns the output members, or undefined for operations whose model has
 * no output (the reply body is then empty, as AWS sends it).
 */
export interface Operation<I = never, O = unknown> {
  readonly name: string;
  readonly input: StructureShape;
  handle(ctx: RequestContext, input: I): Promise<O | undefined>;
}

export function defineOperation<I, O>(operation: Operation<I, O>): Operation<I, O> {
  return operation;
}
