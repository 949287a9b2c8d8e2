import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULTS, defaultWorkers, resolveSettings, SettingsError } from '../../src/server/settings.js';

/**
 * `workers` (docs/multi-process.md): one per core by default on more than two cores; 1 from any
 * source is one process.
 */
describe('settings: workers', () => {
  const cores = availableParallelism();

  it('defaults to one per core on more than two cores, else to one process', () => {
    assert.deepEqual([1, 2, 3, 4, 16].map(defaultWorkers), [1, 1, 3, 4, 16]);
    assert.equal(DEFAULTS.workers, defaultWorkers(cores));
    assert.equal(resolveSettings({}, {}).workers, defaultWorkers(cores));
  });

  it('auto is one per core, from a flag or the environment', () => {
    assert.equal(resolveSettings({ workers: 'auto' }, {}).workers, cores);
    assert.equal(resolveSettings({}, { TRENT_WORKERS: 'auto' }).workers, cores);
  });

  it('1 from the flag, the environment or the config file is one process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trent-settings-'));
    try {
      const config = join(dir, 'trent.json');
      writeFileSync(config, JSON.stringify({ workers: 1 }));
      assert.equal(resolveSettings({ workers: '1' }, {}).workers, 1);
      assert.equal(resolveSettings({}, { TRENT_WORKERS: '1' }).workers, 1);
      assert.equal(resolveSettings({}, {}, config).workers, 1);
      // The flag wins over the environment, which wins over the file.
      assert.equal(resolveSettings({ workers: '3' }, { TRENT_WORKERS: '1' }, config).workers, 3);
      assert.equal(resolveSettings({}, { TRENT_WORKERS: '2' }, config).workers, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with --allow-time-travel the default is one process; an explicit count is kept (the CLI warns)', () => {
    assert.equal(resolveSettings({ allowTimeTravel: true }, {}).workers, 1);
    assert.equal(resolveSettings({}, { TRENT_ALLOW_TIME_TRAVEL: 'true' }).workers, 1);
    assert.equal(resolveSettings({ allowTimeTravel: true, workers: '2' }, {}).workers, 2);
  });

  it('refuses a count out of range, naming the setting', () => {
    for (const bad of ['0', '257', 'two', '1.5']) {
      assert.throws(
        () => resolveSettings({ workers: bad }, {}),
        (err: unknown) =>
          err instanceof SettingsError &&
          err.message === `The setting workers must be an integer from 1 to 256, not '${bad}'.`,
      );
    }
  });
});

/** `auditCommit` (docs/audit.md, "Where records are committed"): the event loop unless asked. */
describe('settings: audit commit', () => {
  it('is loop by default; thread from the flag or the environment', () => {
    assert.equal(resolveSettings({}, {}).auditCommit, 'loop');
    assert.equal(resolveSettings({ auditCommit: 'thread' }, {}).auditCommit, 'thread');
    assert.equal(resolveSettings({}, { TRENT_AUDIT_COMMIT: 'thread' }).auditCommit, 'thread');
    assert.equal(resolveSettings({ auditCommit: 'loop' }, { TRENT_AUDIT_COMMIT: 'thread' }).auditCommit, 'loop');
  });

  it('refuses anything else, and the thread with a PostgreSQL store', () => {
    assert.throws(
      () => resolveSettings({ auditCommit: 'worker' }, {}),
      (err: unknown) =>
        err instanceof SettingsError && err.message === "The setting auditCommit must be loop or thread, not 'worker'.",
    );
    assert.throws(
      () => resolveSettings({ auditCommit: 'thread', store: 'postgres://trent@db:5432/kms' }, {}),
      (err: unknown) => err instanceof SettingsError && /needs a SQLite audit log/.test(err.message),
    );
    assert.equal(resolveSettings({ store: 'postgres://trent@db:5432/kms' }, {}).auditCommit, 'loop');
  });
});
