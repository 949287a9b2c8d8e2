import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { parseIpBlock } from '../../../src/policy/ip-address.js';
import { compileVpcEndpoints } from '../../../src/policy/vpc-endpoint.js';
import { RequestOriginResolver } from '../../../src/server/request-origin.js';
import { resolveSettings, SettingsError } from '../../../src/server/settings.js';

const POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*' }],
};

function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe('compileVpcEndpoints', () => {
  it('compiles each endpoint with its VPC and resource policy', () => {
    const endpoints = compileVpcEndpoints({ 'vpce-0abc': { vpc: 'vpc-1234', policy: POLICY }, 'vpce-0def': {} });
    const abc = endpoints.get('vpce-0abc');
    assert.equal(abc?.vpc, 'vpc-1234');
    assert.equal(abc?.policy?.kind, 'resource');
    assert.equal(abc?.policy?.id, 'vpc-endpoint-policy:vpce-0abc');
    assert.equal(endpoints.get('vpce-0def')?.policy, undefined);
    assert.equal(compileVpcEndpoints(undefined).size, 0);
  });

  it('names the endpoint and the mistake', () => {
    assert.throws(() => compileVpcEndpoints([]), /vpcEndpoints must map endpoint ids/);
    assert.throws(() => compileVpcEndpoints({ 'endpoint-1': {} }), /VPC endpoint endpoint-1: the id must look like/);
    assert.throws(() => compileVpcEndpoints({ 'vpce-1': { vpc: 'subnet-1' } }), /vpce-1: vpc must look like/);
    assert.throws(() => compileVpcEndpoints({ 'vpce-1': { polcy: {} } }), /vpce-1: unknown fields polcy/);
    // An endpoint policy is a resource policy: a statement without Principal is malformed.
    const noPrincipal = { Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] };
    assert.throws(() => compileVpcEndpoints({ 'vpce-1': { policy: noPrincipal } }), /VPC endpoint vpce-1: policy: /);
  });
});

describe('RequestOriginResolver', () => {
  const declared = compileVpcEndpoints({ 'vpce-0abc': { vpc: 'vpc-1234', policy: POLICY } });
  const blocks = ['10.0.0.0/8', '::1'].map((c) => parseIpBlock(c)).filter((b) => b !== undefined);
  const resolver = new RequestOriginResolver(blocks, () => declared);
  const proxied = { 'x-trent-source-vpce': 'vpce-0abc', 'x-forwarded-for': '203.0.113.7, 10.9.9.9' };

  it('believes a trusted proxy: endpoint, declared VPC and policy, first forwarded hop', () => {
    const origin = resolver.origin(request('::ffff:10.1.2.3', { ...proxied, 'x-trent-source-vpc': 'vpc-9999' }));
    assert.equal(origin.sourceIp, '203.0.113.7');
    assert.equal(origin.vpcEndpoint?.id, 'vpce-0abc');
    assert.equal(origin.vpcEndpoint?.vpc, 'vpc-1234');
    assert.equal(origin.vpcEndpoint?.policy, declared.get('vpce-0abc')?.policy);
    assert.equal(resolver.origin(request('::1', proxied)).vpcEndpoint?.id, 'vpce-0abc');
  });

  it('an undeclared endpoint: the proxy’s ids, no policy', () => {
    const origin = resolver.origin(
      request('10.0.0.1', { 'x-trent-source-vpce': 'vpce-0999', 'x-trent-source-vpc': 'vpc-77' }),
    );
    assert.deepEqual(origin, {
      sourceIp: '10.0.0.1',
      vpcEndpoint: { id: 'vpce-0999', vpc: 'vpc-77', policy: undefined },
    });
  });

  it('ignores the headers from any other peer, and malformed values from a proxy', () => {
    assert.deepEqual(resolver.origin(request('192.0.2.1', proxied)), { sourceIp: '192.0.2.1' });
    assert.deepEqual(resolver.origin(request('11.0.0.1', proxied)), { sourceIp: '11.0.0.1' });
    assert.deepEqual(new RequestOriginResolver([], () => declared).origin(request('10.0.0.1', proxied)), {
      sourceIp: '10.0.0.1',
    });
    assert.deepEqual(
      resolver.origin(request('10.0.0.1', { 'x-trent-source-vpce': 'VPCE-0ABC', 'x-forwarded-for': 'nobody' })),
      { sourceIp: '10.0.0.1' },
    );
  });
});

describe('--trusted-proxies', () => {
  it('takes a comma-separated list of CIDR blocks, and refuses anything else', () => {
    assert.deepEqual(resolveSettings({}, {}).trustedProxies, []);
    assert.deepEqual(resolveSettings({ trustedProxies: '10.0.0.0/8, 127.0.0.1' }, {}).trustedProxies, [
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    assert.deepEqual(resolveSettings({}, { TRENT_TRUSTED_PROXIES: '::1/128' }).trustedProxies, ['::1/128']);
    assert.throws(
      () => resolveSettings({ trustedProxies: '10.0.0.0/33' }, {}),
      (err: unknown) =>
        err instanceof SettingsError &&
        err.message === "The setting trustedProxies must list CIDR blocks, not '10.0.0.0/33'.",
    );
  });
});
