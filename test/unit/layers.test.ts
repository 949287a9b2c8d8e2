import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../helpers/server.js';

/**
 * The layering of DESIGN.md, held by a test: which top-level folders of src/ each folder may
 * import from. Imports point down; nothing imports server/ or cli/; operations never import each
 * other across resource folders.
 */
const ALLOWED: Record<string, string[]> = {
  crypto: ['errors', 'thread-calls'],
  wire: ['errors'],
  policy: ['errors', 'auth', 'storage', 'lru'],
  storage: ['errors', 'thread-calls'],
  audit: ['errors', 'storage', 'crypto', 'auth', 'wire'],
  auth: ['errors', 'crypto', 'storage', 'lru'],
  keys: ['errors', 'crypto', 'storage', 'lru', 'clock', 'policy'],
  operations: ['errors', 'keys', 'wire', 'auth', 'policy', 'storage', 'clock', 'crypto'],
  server: ['errors', 'keys', 'wire', 'auth', 'policy', 'storage', 'clock', 'crypto', 'operations', 'lru', 'audit'],
  cli: ['errors', 'server', 'auth', 'storage', 'crypto', 'audit'],
};

const SRC = join(PROJECT_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1] as string));
}

function topFolder(path: string): string {
  const [first] = relative(SRC, path).split(/[\\/]/);
  return (first ?? '').replace(/\.js$|\.ts$/, '');
}

describe('layers', () => {
  it('imports point down the layers of DESIGN.md', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = topFolder(file);
      const allowed = ALLOWED[from];
      if (allowed === undefined) continue;
      for (const target of imports(file)) {
        const to = topFolder(target);
        if (to !== from && !allowed.includes(to)) violations.push(`${relative(SRC, file)} imports ${to}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it('operations never import each other (shared logic lives in helpers or in keys/)', () => {
    const ops = join(SRC, 'operations');
    const registry = join(ops, 'registry.ts');
    const operationFiles = new Set(
      imports(registry)
        .map((f) => f.replace(/\.js$/, '.ts'))
        .filter((f) => relative(ops, f).includes('/')),
    );
    assert.ok(operationFiles.size >= 20, `registry lists ${operationFiles.size} operations`);
    const violations: string[] = [];
    for (const file of sourceFiles(ops)) {
      if (file === registry) continue;
      for (const target of imports(file)) {
        if (operationFiles.has(target.replace(/\.js$/, '.ts')))
          violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
    assert.deepEqual(violations, []);
  });
});
