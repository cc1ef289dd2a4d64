// ACL priorities. Within one agent, the rule written first must win, so its entries need a higher
// priority than every later rule's; entries of one rule never overlap each other (the compiler makes
// them disjoint) and so share the rule's priority. Priorities are part of an entry's identity on the
// device, so renumbering rule B because rule A was inserted before it would rewrite B's entries: the
// allocation is sticky. Each (agent, rule) keeps the priority it had in the previous compile as long
// as the written order still agrees with it, and new or moved rules take values in the gaps between
// their kept neighbours. Only when a gap is exhausted is the agent renumbered, which is a larger but
// still correct change.

/** Upper bound of the priorities used: 24 bits, a conservative range for every target profile. */
export const MAX_PRIORITY = 2 ** 24 - 1;
/** Distance between consecutive rules on a fresh allocation: 16 insertions at one place before a renumber. */
export const PRIORITY_GAP = 2 ** 16;

/**
 * Indices (into `values`, among those defined) of a longest subsequence whose values strictly
 * decrease, in O(n log n).
 */
function longestDecreasing(values: readonly (number | undefined)[]): Set<number> {
  const tails: number[] = []; // tails[k]: index of the smallest-magnitude end of a run of length k+1
  const before: number[] = new Array<number>(values.length).fill(-1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined) continue;
    // Find the first run whose last value is <= v: v cannot extend it (strictly decreasing).
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((values[tails[mid]] as number) > v) lo = mid + 1;
      else hi = mid;
    }
    before[i] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = i;
  }
  const kept = new Set<number>();
  for (let i = tails.length > 0 ? tails[tails.length - 1] : -1; i >= 0; i = before[i]) kept.add(i);
  return kept;
}

/** The priorities of `count` rules that kept none from before: what allocatePriorities gives them. */
export function freshPriorities(count: number): number[] {
  const gap = Math.max(1, Math.min(PRIORITY_GAP, Math.floor(MAX_PRIORITY / (count + 1))));
  // Centred, so that rules can be added before the first and after the last without a renumber.
  const top = Math.floor((MAX_PRIORITY + (count - 1) * gap) / 2) + 1;
  return Array.from({ length: count }, (_, i) => top - i * gap);
}

/**
 * The values moved down by the smallest shift that avoids every value in `avoid`, staying above
 * `floor`; the values as they are when no shift within reach does.
 */
function clearOf(values: number[], floor: number, avoid: ReadonlySet<number>): number[] {
  if (avoid.size === 0) return values;
  const tries = values.length * avoid.size + 1;
  for (let shift = 0; shift <= tries; shift++) {
    if (values[values.length - 1] - shift <= floor) break;
    if (values.every((v) => !avoid.has(v - shift))) return values.map((v) => v - shift);
  }
  return values;
}

/**
 * Priorities for one agent's rules, in written order: strictly decreasing, within [1, MAX_PRIORITY].
 * `previous[i]` is the priority rule i had before, if it existed and may keep it. New values stay
 * clear of `avoid` where the gap allows: entries that are leaving the device (of removed or moved
 * rules) hold those priorities, and a new entry tied with one of them would force the planner to
 * take the agent off its port for the swap.
 */
export function allocatePriorities(
  previous: readonly (number | undefined)[],
  avoid: ReadonlySet<number> = new Set(),
): number[] {
  const count = previous.length;
  if (count === 0) return [];
  if (count > MAX_PRIORITY)
    throw new RangeError(`${count} rules for one agent exceed ${MAX_PRIORITY} priorities`);
  const usable = previous.map((p) => (p !== undefined && p >= 1 && p <= MAX_PRIORITY ? p : undefined));
  const kept = longestDecreasing(usable);
  if (kept.size === 0) return clearOf(freshPriorities(count), 0, avoid);
  const out = new Array<number>(count);
  let i = 0;
  while (i < count) {
    if (kept.has(i)) {
      out[i] = usable[i] as number;
      i++;
      continue;
    }
    let j = i;
    while (j < count && !kept.has(j)) j++;
    const run = j - i;
    const above = i > 0 ? out[i - 1] : undefined;
    const below = j < count ? (usable[j] as number) : undefined;
    let values: number[] | undefined;
    if (above === undefined && below !== undefined && below + run * PRIORITY_GAP <= MAX_PRIORITY) {
      values = Array.from({ length: run }, (_, k) => below + (run - k) * PRIORITY_GAP);
    } else if (below === undefined && above !== undefined && above - run * PRIORITY_GAP >= 1) {
      values = Array.from({ length: run }, (_, k) => above - (k + 1) * PRIORITY_GAP);
    } else {
      const hi = above ?? MAX_PRIORITY + 1;
      const lo = below ?? 0;
      const step = Math.floor((hi - lo) / (run + 1));
      if (step >= 1) values = Array.from({ length: run }, (_, k) => hi - (k + 1) * step);
    }
    if (!values) return clearOf(freshPriorities(count), 0, avoid);
    values = clearOf(values, below ?? 0, avoid);
    for (let k = 0; k < run; k++) out[i + k] = values[k];
    i = j;
  }
  return out;
}
