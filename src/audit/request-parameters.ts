import type { Shape, StructureShape } from '../wire/shapes.js';

/**
 * requestParameters: the members of a validated input that AWS keeps in CloudTrail, camelCased.
 * The allow-list is derived from the operation's input shape once, at start: a member is kept
 * only if neither it nor anything inside it is a blob or marked sensitive — so plaintexts,
 * ciphertexts, public keys, signatures, MACs, import tokens and secrets can never be copied,
 * whatever an operation adds later. What is kept is what AWS keeps: key ids, encryption context,
 * algorithms, specs, sizes, names, policies, tags.
 */
export type ParameterFilter = (input: unknown) => Record<string, unknown> | null;

export function parameterFilter(shape: StructureShape): ParameterFilter {
  const project = compile(shape) ?? (() => ({}));
  return (input) => {
    if (input === null || typeof input !== 'object') return null;
    const out = project(input) as Record<string, unknown>;
    return Object.keys(out).length === 0 ? null : out;
  };
}

type Projector = (value: unknown) => unknown;

/** Undefined when nothing of the shape may be recorded. */
function compile(shape: Shape): Projector | undefined {
  switch (shape.type) {
    case 'blob':
      return undefined;
    case 'string':
      return shape.sensitive === true ? undefined : (v) => v;
    case 'integer':
    case 'boolean':
    case 'timestamp':
      return (v) => v;
    case 'map':
      return shape.key.sensitive === true || shape.value.sensitive === true ? undefined : (v) => v;
    case 'list': {
      const member = compile(shape.member);
      return member === undefined ? undefined : (v) => (Array.isArray(v) ? v.map(member) : undefined);
    }
    case 'structure': {
      const members: [string, string, Projector][] = [];
      for (const [name, memberShape] of Object.entries(shape.members)) {
        const project = compile(memberShape);
        if (project !== undefined) members.push([name, camelCase(name), project]);
      }
      // In canonical order, so that the record's canonical text needs no sorted copy (record.ts).
      members.sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0));
      return (v) => {
        if (v === null || typeof v !== 'object') return undefined;
        const out: Record<string, unknown> = {};
        for (const [name, camel, project] of members) {
          const member = (v as Record<string, unknown>)[name];
          if (member !== undefined) out[camel] = project(member);
        }
        return out;
      };
    }
  }
}

/** `KeyId` → `keyId`, `AWSAccountId` → `aWSAccountId` (CloudTrail lower-cases the first letter only). */
export function camelCase(name: string): string {
  return name.length === 0 ? name : name[0]!.toLowerCase() + name.slice(1);
}
