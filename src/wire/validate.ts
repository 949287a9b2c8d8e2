import { SerializationException, ValidationException } from '../errors.js';
import type { Shape, StringShape, StructureShape } from './shapes.js';

/**
 * Compiles a request shape into a validator: JSON value in, typed input out (blobs decoded to
 * Buffers, JSON nulls dropped, unknown members ignored as AWS does).
 *
 * Two kinds of failure, in AWS's order: a value of the wrong JSON type, or a blob that is not
 * base64, throws SerializationException at once; constraint violations (required, length, range,
 * pattern, enum) are collected over the whole input and thrown together as one
 * ValidationException in AWS's wording:
 *   `1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: …`
 */
export type Validator<T = Record<string, unknown>> = (value: unknown) => T;

interface Violation {
  path: string;
  /** Rendered value, or undefined for sensitive/blob members whose value AWS leaves out. */
  shown: string | undefined | null;
  constraint: string;
}

type Walker = (value: unknown, path: string, violations: Violation[]) => unknown;

export function compileValidator<T>(shape: StructureShape): Validator<T> {
  const walk = compile(shape);
  return (value: unknown): T => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new SerializationException('The request body must be a JSON object.');
    }
    const violations: Violation[] = [];
    const result = walk(value, '', violations) as T;
    if (violations.length > 0) throw new ValidationException(validationMessage(violations));
    return result;
  };
}

export function validationMessage(violations: readonly Violation[]): string {
  const n = violations.length;
  const parts = violations.map((v) => {
    const value = v.shown === undefined ? 'Value' : v.shown === null ? 'Value null' : `Value '${v.shown}'`;
    return `${value} at '${v.path}' failed to satisfy constraint: ${v.constraint}`;
  });
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${parts.join('; ')}`;
}

function compile(shape: Shape): Walker {
  switch (shape.type) {
    case 'structure':
      return compileStructure(shape);
    case 'string':
      return compileString(shape);
    case 'integer': {
      const { min, max } = shape;
      return (value, path, violations) => {
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          throw typeError(path, 'an integer', value);
        }
        if (min !== undefined && value < min) {
          violations.push({
            path,
            shown: String(value),
            constraint: `Member must have value greater than or equal to ${min}`,
          });
        } else if (max !== undefined && value > max) {
          violations.push({
            path,
            shown: String(value),
            constraint: `Member must have value less than or equal to ${max}`,
          });
        }
        return value;
      };
    }
    case 'boolean':
      return (value, path) => {
        if (typeof value !== 'boolean') throw typeError(path, 'a boolean', value);
        return value;
      };
    case 'timestamp':
      return (value, path) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw typeError(path, 'a timestamp in epoch seconds', value);
        }
        return value;
      };
    case 'blob': {
      const { min, max } = shape;
      return (value, path, violations) => {
        if (typeof value !== 'string') throw typeError(path, 'a base64 string', value);
        const bytes = decodeBase64(value, path);
        if (min !== undefined && bytes.length < min) {
          violations.push({
            path,
            shown: undefined,
            constraint: `Member must have length greater than or equal to ${min}`,
          });
        } else if (max !== undefined && bytes.length > max) {
          violations.push({
            path,
            shown: undefined,
            constraint: `Member must have length less than or equal to ${max}`,
          });
        }
        return bytes;
      };
    }
    case 'map': {
      const key = compileString(shape.key);
      const val = compileString(shape.value);
      return (value, path, violations) => {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw typeError(path, 'an object of strings', value);
        }
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(value)) {
          key(k, path, violations);
          if (v === null) continue;
          out[k] = val(v, `${path}.${k}`, violations) as string;
        }
        return out;
      };
    }
    case 'list': {
      const member = compile(shape.member);
      const { min, max } = shape;
      return (value, path, violations) => {
        if (!Array.isArray(value)) throw typeError(path, 'a list', value);
        const out = value.map((item, i) => {
          const itemPath = `${path}.${i + 1}.member`;
          if (item === null) {
            violations.push({ path: itemPath, shown: null, constraint: 'Member must not be null' });
            return undefined;
          }
          return member(item, itemPath, violations);
        });
        if (min !== undefined && value.length < min) {
          violations.push({
            path,
            shown: renderList(value),
            constraint: `Member must have length greater than or equal to ${min}`,
          });
        } else if (max !== undefined && value.length > max) {
          violations.push({
            path,
            shown: renderList(value),
            constraint: `Member must have length less than or equal to ${max}`,
          });
        }
        return out;
      };
    }
  }
}

function compileStructure(shape: StructureShape): Walker {
  const members = Object.entries(shape.members).map(([name, member]) => ({
    name,
    wireName: camel(name),
    walk: compile(member),
  }));
  const required = new Set(shape.required ?? []);
  return (value, path, violations) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw typeError(path, 'an object', value);
    }
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const m of members) {
      const memberPath = path === '' ? m.wireName : `${path}.${m.wireName}`;
      const v = input[m.name];
      if (v === undefined || v === null) {
        if (required.has(m.name)) {
          violations.push({ path: memberPath, shown: null, constraint: 'Member must not be null' });
        }
        continue;
      }
      out[m.name] = m.walk(v, memberPath, violations);
    }
    return out;
  };
}

function compileString(shape: StringShape): Walker {
  const { min, max, sensitive } = shape;
  const pattern = shape.pattern === undefined ? undefined : anchored(shape.pattern);
  const allowed = shape.enum === undefined ? undefined : new Set(shape.enum);
  const enumText = shape.enum?.join(', ');
  return (value, path, violations) => {
    if (typeof value !== 'string') throw typeError(path, 'a string', value);
    const shown = sensitive ? undefined : value;
    // Lengths count UTF-16 code points as the model does (Java String length).
    if (min !== undefined && value.length < min) {
      violations.push({ path, shown, constraint: `Member must have length greater than or equal to ${min}` });
    } else if (max !== undefined && value.length > max) {
      violations.push({ path, shown, constraint: `Member must have length less than or equal to ${max}` });
    } else if (pattern !== undefined && !pattern.test(value)) {
      violations.push({ path, shown, constraint: `Member must satisfy regular expression pattern: ${shape.pattern}` });
    }
    if (allowed !== undefined && !allowed.has(value)) {
      violations.push({ path, shown, constraint: `Member must satisfy enum value set: [${enumText}]` });
    }
    return value;
  };
}

/** Model patterns are matched against the whole value, as the AWS validators do. */
function anchored(source: string): RegExp {
  const body = source.replace(/^\^/, '').replace(/\$$/, '');
  return new RegExp(`^(?:${body})$`, 'u');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict base64: what BASE64 accepts. Node's decoder skips whatever is not base64, so the text is
 * checked — first against what encoding its bytes gives back (padded base64 always matches BASE64),
 * which is 8× cheaper than the pattern on a 1 KiB plaintext; only text that is not canonical (e.g.
 * stray low bits in its last character) goes through the pattern.
 */
function decodeBase64(text: string, path: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text && !BASE64.test(text)) {
    throw new SerializationException(`The value at '${path}' is not valid base64.`);
  }
  return bytes;
}

function typeError(path: string, expected: string, value: unknown): SerializationException {
  const found = value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
  const where = path === '' ? 'the request' : `'${path}'`;
  return new SerializationException(`Expected ${expected} at ${where}, found ${found}.`);
}

function renderList(value: unknown[]): string {
  return `[${value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')}]`;
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** The ValidationException for a required member that is missing, for checks made after parsing. */
export function missingMember(path: string): ValidationException {
  return new ValidationException(validationMessage([{ path, shown: null, constraint: 'Member must not be null' }]));
}
