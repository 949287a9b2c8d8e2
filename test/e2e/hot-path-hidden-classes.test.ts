import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logOfRequestPath, missSites, perRequestMisses } from '../../bench/ic-misses.js';

/**
 * No property access of Trent's own code misses V8's inline caches on every request: the sign of
 * objects that get a new hidden class each time (docs/performance-log.md, "Hidden classes on the hot
 * path"), which cost Encrypt a sixth of its throughput over HTTP before it was found. Counts, not
 * times: the misses come from `node --log-ic`.
 */
describe('hidden classes on the hot path', () => {
  it('reads the sites and counts of a --log-ic log', () => {
    const log = [
      'code-creation,JS,2,100,0x1000,0x100,canonicalRequest file:///x/dist/src/auth/sigv4.js:129:33,0x9,*',
      'code-creation,JS,2,101,0x2000,0x80,get node:_http_incoming:109:16,0xa,*',
      'LoadIC,0x1010,200,131,15,N,N,0x5,method,,',
      'LoadIC,0x1010,201,131,15,N,N,0x6,method,,',
      'LoadIC,0x1020,202,132,28,1,N,0x6,path,,',
      'KeyedLoadIC,0x2004,203,410,18,P,N,0x7,host,,',
      'LoadIC,0x9999,204,1,1,0,1,0x8,lost,,',
    ].join('\n');
    const sites = missSites(log);
    assert.deepEqual(
      sites.map((s) => [s.kind, s.where.split(' ')[0], s.line, s.column, s.property, s.misses]),
      [
        ['LoadIC', 'canonicalRequest', 131, 15, 'method', 2],
        ['LoadIC', 'canonicalRequest', 132, 28, 'path', 1],
        ['KeyedLoadIC', 'get', 410, 18, 'host', 1],
        ['LoadIC', '?', 1, 1, 'lost', 1],
      ],
    );
    // Only dist/src counts, and only from the given share of the requests.
    assert.deepEqual(
      perRequestMisses(sites, 10).map((s) => s.property),
      ['method'],
    );
    assert.deepEqual(perRequestMisses(sites, 20), []);
  });

  it('Encrypt, Decrypt and GenerateDataKey in process: no site misses per request', () => {
    const requests = 4000;
    const found = perRequestMisses(missSites(logOfRequestPath(requests, '')), requests);
    assert.deepEqual(
      found.map((s) => `${s.misses} ${s.kind} ${s.property} in ${s.where} (line ${s.line}:${s.column})`),
      [],
    );
  });
});
