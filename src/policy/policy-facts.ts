import { Lru } from '../lru.js';
import { AWS_CONDITION_KEYS as AWS, conditionKey, KMS_CONDITION_KEYS as KMS } from './condition-keys.js';
import type { CompiledPolicy } from './policy.js';

/** The policies of one decision, each in its slot (as `KmsAuthorizationInput` holds them). */
export interface PolicySet {
  readonly keyPolicy: CompiledPolicy | undefined;
  readonly identityPolicies: readonly CompiledPolicy[];
  /** By organization level, root first. */
  readonly serviceControlPolicies?: readonly (readonly CompiledPolicy[])[] | undefined;
  readonly vpcEndpointPolicy?: CompiledPolicy | undefined;
  readonly sessionPolicy?: CompiledPolicy | undefined;
}

/** What a decision under a set of policies can depend on: the same for every request under them. */
export interface PolicyFacts {
  /** Each policy's fingerprint, slot by slot. */
  readonly fingerprints: string;
  /** Can some policy's verdict differ between two resources (`readsResource`)? */
  readonly readsResource: boolean;
  /** The condition keys some policy reads, case-folded and sorted. */
  readonly conditionKeys: readonly string[];
  /** Does some policy read aws:CurrentTime or aws:EpochTime? They cost a Date a request to set. */
  readonly readsClock: boolean;
  /** Does some policy read kms:ResourceAliases? It costs a read of the key's aliases to set. */
  readonly readsResourceAliases: boolean;
}

// By the fingerprints: a fingerprint names a document's text (and its principals' unique ids), and
// what a policy reads follows from its text. One entry per set of policies in use.
const FACTS = new Lru<string, PolicyFacts>(20_000);

const CLOCK_KEYS = [conditionKey(AWS.CurrentTime), conditionKey(AWS.EpochTime)];
const RESOURCE_ALIASES = conditionKey(KMS.ResourceAliases);

/** The facts of a set of policies: every slot's policies counted, computed once per set. */
export function policyFacts(set: PolicySet): PolicyFacts {
  const scps = set.serviceControlPolicies ?? [];
  const fingerprints = [
    set.keyPolicy?.fingerprint ?? '-',
    fingerprintsOf(set.identityPolicies),
    scps.map(fingerprintsOf).join('/'),
    set.vpcEndpointPolicy?.fingerprint ?? '-',
    set.sessionPolicy?.fingerprint ?? '-',
  ].join('\u0000');
  let facts = FACTS.get(fingerprints);
  if (facts === undefined) {
    const policies = [
      set.keyPolicy,
      set.vpcEndpointPolicy,
      set.sessionPolicy,
      ...set.identityPolicies,
      ...scps.flat(),
    ].filter((p) => p !== undefined);
    const keys = new Set<string>();
    for (const policy of policies) for (const k of policy.referencedKeys) keys.add(k);
    facts = {
      fingerprints,
      readsResource: policies.some(readsResource),
      conditionKeys: [...keys].sort(),
      readsClock: CLOCK_KEYS.some((k) => keys.has(k)),
      readsResourceAliases: keys.has(RESOURCE_ALIASES),
    };
    FACTS.set(fingerprints, facts);
  }
  return facts;
}

function fingerprintsOf(policies: readonly CompiledPolicy[]): string {
  return policies.map((x) => x.fingerprint).join(',');
}

const READS_RESOURCE = new WeakMap<CompiledPolicy, boolean>();

/**
 * Can the policy's verdict differ between two resources? Only through a statement's Resource or
 * NotResource: one that lists `*` matches every resource (or, NotResource, none), whatever it is.
 * Condition keys about the resource (aws:ResourceTag/…, kms:ResourceAliases) are condition values,
 * part of the key already.
 */
export function readsResource(policy: CompiledPolicy): boolean {
  let reads = READS_RESOURCE.get(policy);
  if (reads === undefined) {
    reads = policy.statements.some(
      (s) => s.resource !== undefined && !s.resource.patterns.some((pattern) => pattern.source === '*'),
    );
    READS_RESOURCE.set(policy, reads);
  }
  return reads;
}
