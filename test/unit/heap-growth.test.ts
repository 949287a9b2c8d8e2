import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { heapGrowthFlag } from '../../src/server/heap-growth.js';

describe('heap growth limit', () => {
  it('sets --heap-growing-percent unless node was given one', () => {
    assert.equal(heapGrowthFlag([], undefined), '--heap-growing-percent=50');
    assert.equal(heapGrowthFlag(['--enable-source-maps'], '--max-old-space-size=512'), '--heap-growing-percent=50');
    assert.equal(heapGrowthFlag(['--heap-growing-percent=80'], undefined), undefined);
    assert.equal(heapGrowthFlag([], '--trace-gc  --heap_growing_percent=30'), undefined);
    // A flag whose name merely starts the same is another flag.
    assert.equal(heapGrowthFlag(['--heap-growing-percentage=80'], undefined), '--heap-growing-percent=50');
  });

  it('is a flag this V8 knows (an unknown one is reported on stderr)', () => {
    const module = new URL('../../src/server/heap-growth.js', import.meta.url).href;
    const script = `const { limitHeapGrowth } = await import(${JSON.stringify(module)}); limitHeapGrowth([], {});`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout + child.stderr, '');
    // The same check does report a flag V8 does not know.
    const unknown = spawnSync(
      process.execPath,
      ['-e', "require('node:v8').setFlagsFromString('--heap-growing-percentx=50')"],
      {
        encoding: 'utf8',
      },
    );
    assert.match(unknown.stdout + unknown.stderr, /unrecognized flag/);
  });
});
