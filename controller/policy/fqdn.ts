// DNS names in a policy are resolved before compiling, by an injected resolver, so that the
// compiler stays pure and the answers it used are recorded next to the entries they produced.
import { formatAddress, parseAddress } from './addr';
import { FqdnResolution, PolicySet } from './model';

export interface ResolverAnswer {
  readonly addresses: readonly string[];
  readonly ttlSeconds: number;
}

export type Resolver = (name: string) => Promise<ResolverAnswer>;

/** Every DNS name the policy uses, sorted. */
export function policyFqdns(policy: PolicySet): string[] {
  const names = new Set<string>();
  for (const d of policy.destinations) d.fqdns.forEach((n) => names.add(n));
  for (const r of policy.rules) r.fqdns.forEach((n) => names.add(n));
  return [...names].sort();
}

/**
 * Resolves every name of the policy. A name that fails to resolve is left out (its rules match
 * nothing until it resolves, and the compiler warns), and reported in `failed`.
 */
export async function resolveFqdns(
  policy: PolicySet,
  resolver: Resolver,
  now: () => Date,
): Promise<{ resolutions: FqdnResolution[]; failed: { name: string; error: string }[] }> {
  const resolutions: FqdnResolution[] = [];
  const failed: { name: string; error: string }[] = [];
  for (const name of policyFqdns(policy)) {
    try {
      const answer = await resolver(name);
      const addresses = answer.addresses
        .map((a) => parseAddress(a))
        .filter((a) => a !== null)
        .map((a) => formatAddress(a.family, a.value));
      resolutions.push({
        name,
        addresses: [...new Set(addresses)].sort(),
        ttlSeconds: answer.ttlSeconds,
        resolvedAt: now().toISOString(),
      });
    } catch (error) {
      failed.push({ name, error: (error as Error).message });
    }
  }
  return { resolutions, failed };
}

/** When the earliest recorded answer expires: the time to resolve again and recompile. */
export function refreshDue(resolutions: readonly FqdnResolution[]): Date | undefined {
  let due: number | undefined;
  for (const r of resolutions) {
    const at = Date.parse(r.resolvedAt) + r.ttlSeconds * 1000;
    if (due === undefined || at < due) due = at;
  }
  return due === undefined ? undefined : new Date(due);
}
