import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { BOUND_LIMIT } from '../../src/storage/sqlite/bound-limit.js';

const SQLITE_SOURCES = join(process.cwd(), 'src', 'storage', 'sqlite');

it('no SQLite statement binds a bare LIMIT parameter (each run would prepare it again)', () => {
  const offenders = readdirSync(SQLITE_SOURCES)
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) =>
      readFileSync(join(SQLITE_SOURCES, name), 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${name}:${i + 1}`, line }))
        .filter(({ line }) => /\bLIMIT\s+(\?|:\w+|@\w+|\$\w+)/i.test(line) && !line.trim().startsWith('*')),
    )
    .map(({ where }) => where);
  assert.deepEqual(offenders, []);
});

it('BOUND_LIMIT limits as LIMIT ? does, for the counts paging uses', () => {
  const db = new Database(':memory:');
  try {
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    for (let n = 1; n <= 20; n++) insert.run(n);
    const page = db.prepare<[number, number], { n: number }>(`SELECT n FROM t WHERE n > ? ORDER BY n ${BOUND_LIMIT}`);
    assert.deepEqual(
      page.all(0, 3).map((r) => r.n),
      [1, 2, 3],
    );
    assert.deepEqual(
      page.all(18, 100).map((r) => r.n),
      [19, 20],
    );
    assert.deepEqual(page.all(5, 0), []);
    assert.equal(page.all(0, 1_000_000).length, 20);
  } finally {
    db.close();
  }
});
