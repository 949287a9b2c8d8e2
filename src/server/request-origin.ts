import type { IncomingMessage } from 'node:http';
import type { RequestOrigin } from '../operations/context.js';
import { type IpBlock, ipInBlock, parseIpAddress } from '../policy/ip-address.js';
import { VPC_ENDPOINT_ID, VPC_ID, type VpcEndpoint } from '../policy/vpc-endpoint.js';
import { header, sourceIp } from './request-meta.js';

/** The headers a trusted front proxy sets (docs/identities.md, "VPC endpoints"). */
export const SOURCE_VPCE_HEADER = 'x-trent-source-vpce';
export const SOURCE_VPC_HEADER = 'x-trent-source-vpc';
const FORWARDED_FOR_HEADER = 'x-forwarded-for';

/**
 * Where a request came from, for condition keys and audit. The TCP peer is the source, unless it
 * is one of the trusted proxies: then the proxy's `X-Forwarded-For` (its first hop),
 * `X-Trent-Source-Vpce` and `X-Trent-Source-Vpc` are believed. From any other peer these headers
 * are ignored — a client cannot name an endpoint or an address for itself. A header value that is
 * not an id of the right shape is ignored too.
 */
export class RequestOriginResolver {
  constructor(
    private readonly trustedProxies: readonly IpBlock[],
    /** The declared endpoints (identities file), looked up on each request so a reload applies at once. */
    private readonly endpoints: () => ReadonlyMap<string, VpcEndpoint>,
  ) {}

  origin(req: IncomingMessage): RequestOrigin {
    const peer = sourceIp(req);
    if (!this.trusted(peer)) return { sourceIp: peer };
    const forwarded = header(req, FORWARDED_FOR_HEADER)?.split(',')[0]?.trim();
    const ip = forwarded !== undefined && parseIpAddress(forwarded) !== undefined ? forwarded : peer;
    const vpceId = header(req, SOURCE_VPCE_HEADER)?.trim();
    const vpcId = header(req, SOURCE_VPC_HEADER)?.trim();
    const vpc = vpcId !== undefined && VPC_ID.test(vpcId) ? vpcId : undefined;
    if (vpceId === undefined || !VPC_ENDPOINT_ID.test(vpceId)) return { sourceIp: ip };
    // A declared endpoint: its VPC is the file's, if given. An undeclared one: the keys, no policy
    // (AWS's default endpoint policy allows everything).
    const declared = this.endpoints().get(vpceId);
    const vpcEndpoint: VpcEndpoint = { id: vpceId, vpc: declared?.vpc ?? vpc, policy: declared?.policy };
    return { sourceIp: ip, vpcEndpoint };
  }

  private trusted(peer: string): boolean {
    if (this.trustedProxies.length === 0) return false;
    const address = parseIpAddress(peer);
    return address !== undefined && this.trustedProxies.some((block) => ipInBlock(address, block));
  }
}
