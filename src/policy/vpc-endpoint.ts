import { parsePolicy } from './parse-policy.js';
import type { CompiledPolicy } from './policy.js';

/**
 * The VPC endpoint a request came through (aws:SourceVpce, aws:SourceVpc), as a trusted front
 * proxy reported it, with the endpoint's policy when the identities file declares one.
 */
export interface VpcEndpoint {
  /** `vpce-0abc…` (aws:SourceVpce; the audit record's vpcEndpointId). */
  readonly id: string;
  /** `vpc-1234…` (aws:SourceVpc), when known. */
  readonly vpc: string | undefined;
  /**
   * The endpoint policy. None (an endpoint the file does not declare, or declares without a
   * policy) is AWS's default endpoint policy, which allows everything.
   */
  readonly policy: CompiledPolicy | undefined;
}

export const VPC_ENDPOINT_ID = /^vpce-[0-9a-z]{1,64}$/;
export const VPC_ID = /^vpc-[0-9a-z]{1,64}$/;

/**
 * The `vpcEndpoints` section of the identities file (docs/identities.md):
 * `{"vpce-0abc": {"vpc": "vpc-1234", "policy": {…}}}`, checked and compiled. Each policy is a
 * resource policy (its statements name a Principal), as in AWS. Throws, naming the endpoint, on a
 * mistake.
 */
export function compileVpcEndpoints(section: unknown): Map<string, VpcEndpoint> {
  const endpoints = new Map<string, VpcEndpoint>();
  if (section === undefined) return endpoints;
  if (!isObject(section)) throw new Error('vpcEndpoints must map endpoint ids (vpce-…) to objects');
  for (const [id, entry] of Object.entries(section)) {
    const where = `VPC endpoint ${id}`;
    if (!VPC_ENDPOINT_ID.test(id)) throw new Error(`${where}: the id must look like vpce-0123abcd`);
    if (!isObject(entry)) throw new Error(`${where} must be an object`);
    const unknown = Object.keys(entry).filter((k) => k !== 'vpc' && k !== 'policy');
    if (unknown.length > 0) throw new Error(`${where}: unknown fields ${unknown.join(', ')}`);
    if (entry.vpc !== undefined && (typeof entry.vpc !== 'string' || !VPC_ID.test(entry.vpc)))
      throw new Error(`${where}: vpc must look like vpc-0123abcd`);
    let policy: CompiledPolicy | undefined;
    if (entry.policy !== undefined) {
      const text = typeof entry.policy === 'string' ? entry.policy : JSON.stringify(entry.policy);
      try {
        policy = parsePolicy(text, { kind: 'resource', id: `vpc-endpoint-policy:${id}` });
      } catch (err) {
        throw new Error(`${where}: policy: ${(err as Error).message}`);
      }
    }
    endpoints.set(id, { id, vpc: entry.vpc as string | undefined, policy });
  }
  return endpoints;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
