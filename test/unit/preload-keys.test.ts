import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { KeyRepository } from '../../src/keys/key-repository.js';
import type { IdentityDirectory } from '../../src/policy/identity-directory.js';
import { KmsAuthorizer } from '../../src/policy/kms-authorizer.js';
import { preloadKeys } from '../../src/server/start.js';
import type { GrantStore } from '../../src/storage/grant-store.js';

const ARNS = ['arn:aws:kms:us-east-1:111122223333:key/a', 'arn:aws:kms:us-east-1:111122223333:key/b'];

/** A key repository whose preload reads one page of ARNS, and what it was handed. */
function keysReadingOnePage() {
  const seen: { onPage?: (arns: string[]) => void } = {};
  const keys = {
    preload: async (_stop: () => boolean, _pageSize?: number, onPage?: (arns: string[]) => void) => {
      seen.onPage = onPage;
      onPage?.(ARNS);
      return ARNS.length;
    },
  } as unknown as KeyRepository;
  return { keys, seen };
}

function logged() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('preloadKeys', () => {
  it('caches the keys the store names as having no grants beside the key preload', async () => {
    const { keys } = keysReadingOnePage();
    const authorizer = new KmsAuthorizer({} as IdentityDirectory, undefined);
    const grants = { keysWithGrants: async () => [ARNS[0]] } as unknown as GrantStore;
    const { logger } = logged();
    assert.equal(await preloadKeys(keys, authorizer, grants, logger).done, 2);
    // Only the key without grants was cached as such: a second pass finds it cached.
    assert.equal(authorizer.cacheNoGrants(ARNS, authorizer.grantsVersion), 1);
  });

  it('preloads the keys, with a warning, when the store cannot say which have grants', async () => {
    const { keys, seen } = keysReadingOnePage();
    const authorizer = new KmsAuthorizer({} as IdentityDirectory, undefined);
    const grants = {
      keysWithGrants: async () => Promise.reject(new Error('connection lost')),
    } as unknown as GrantStore;
    const { logger, lines } = logged();
    assert.equal(await preloadKeys(keys, authorizer, grants, logger).done, 2);
    assert.equal(seen.onPage, undefined);
    assert.equal(authorizer.cacheNoGrants(ARNS, authorizer.grantsVersion), 2);
    assert.ok(lines.some((l) => l.level === 40 && l.msg === 'reading which keys have grants failed'));
  });
});
