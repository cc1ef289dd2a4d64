// Strict address parsing and prefix-set arithmetic. Everything the policy language accepts as an
// address goes through here, so that one spelling of an address never compiles to two different
// keys, and so that shorthand forms (`127.1`, leading zeros, zone ids) are refused instead of being
// read the way some other tool would read them.
import * as ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

export interface Prefix {
  readonly family: Family;
  /** Network address: host bits are always zero. */
  readonly value: bigint;
  readonly len: number;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

function bytesToBigint(bytes: number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

// Policies repeat the same few thousand spellings many times over; parsing through ipaddr.js is
// the compiler's largest cost without this. Bounded so a long-lived process cannot grow it forever.
const MEMO_LIMIT = 100_000;
const addressMemo = new Map<string, Address | null>();
const cidrMemo = new Map<string, CidrResult>();

function memo<T>(map: Map<string, T>, key: string, compute: () => T): T {
  const hit = map.get(key);
  if (hit !== undefined || map.has(key)) return hit as T;
  if (map.size >= MEMO_LIMIT) map.clear();
  const value = compute();
  map.set(key, value);
  return value;
}

/** Parses one IPv4 or IPv6 address; null unless it is in a canonical, unambiguous spelling. */
export function parseAddress(text: string, family?: Family): Address | null {
  const parsed = memo(addressMemo, text, () => parseAddressUncached(text));
  return parsed && family !== undefined && parsed.family !== family ? null : parsed;
}

function parseAddressUncached(text: string, family?: Family): Address | null {
  if (family !== 6 && ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, value: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (family !== 4 && text.includes(':') && ipaddr.IPv6.isValid(text)) {
    const parsed = ipaddr.IPv6.parse(text);
    // A zone names an interface of the host that wrote it; it means nothing to the device.
    if (parsed.zoneId !== undefined) return null;
    return { family: 6, value: bytesToBigint(parsed.toByteArray()) };
  }
  return null;
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
  }
  const bytes: number[] = [];
  for (let shift = 120n; shift >= 0n; shift -= 8n) bytes.push(Number((value >> shift) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

export type CidrResult = { readonly prefix: Prefix } | { readonly error: string; readonly expected: string };

/**
 * Parses `addr/len`, or a bare address as a host prefix. A prefix with host bits set is refused
 * rather than silently truncated: `10.0.0.1/8` is more often a typo for /32 than a wish for /8.
 */
export function parseCidr(text: string, family?: Family): CidrResult {
  if (family === undefined) return memo(cidrMemo, text, () => parseCidrUncached(text));
  return parseCidrUncached(text, family);
}

function parseCidrUncached(text: string, family?: Family): CidrResult {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText, family);
  const what = family === 4 ? 'an IPv4' : family === 6 ? 'an IPv6' : 'an IPv4 or IPv6';
  if (!addr) {
    return {
      error: `"${addrText}" is not a valid address`,
      expected: `${what} address or CIDR, e.g. 10.0.0.0/8`,
    };
  }
  const bits = familyBits(addr.family);
  let len = bits;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > bits) {
      return {
        error: `"/${lenText}" is not a valid prefix length`,
        expected: `a prefix length from 0 to ${bits}`,
      };
    }
    len = Number(lenText);
  }
  const network = addr.value & prefixMask(addr.family, len);
  if (network !== addr.value) {
    const fixed = `${formatAddress(addr.family, network)}/${len}`;
    return { error: `"${text}" has host bits set`, expected: `a network address, e.g. ${fixed}` };
  }
  return { prefix: { family: addr.family, value: network, len } };
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.family, prefix.value)}/${prefix.len}`;
}

export function prefixMask(family: Family, len: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return len === 0 ? 0n : (all >> (bits - BigInt(len))) << (bits - BigInt(len));
}

export function prefixContainsAddress(prefix: Prefix, addr: Address): boolean {
  return (
    prefix.family === addr.family && (addr.value & prefixMask(prefix.family, prefix.len)) === prefix.value
  );
}

/** Whether `outer` covers every address of `inner`. */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  return (
    outer.family === inner.family &&
    outer.len <= inner.len &&
    (inner.value & prefixMask(outer.family, outer.len)) === outer.value
  );
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

const comparePrefixes = (a: Prefix, b: Prefix): number =>
  a.family !== b.family
    ? a.family - b.family
    : a.value < b.value
      ? -1
      : a.value > b.value
        ? 1
        : a.len - b.len;

/**
 * The canonical form of a set of addresses given as prefixes: disjoint, sorted, with covered
 * prefixes dropped and sibling halves merged, so that equal sets have equal forms.
 */
export function normalizePrefixes(prefixes: readonly Prefix[]): Prefix[] {
  if (prefixes.length <= 1) return [...prefixes];
  const sorted = [...prefixes].sort(comparePrefixes);
  const stack: Prefix[] = [];
  for (const prefix of sorted) {
    const top = stack[stack.length - 1];
    if (top && prefixContains(top, prefix)) continue;
    stack.push(prefix);
    // Two halves of one parent become the parent, which may in turn complete a larger sibling pair.
    while (stack.length >= 2) {
      const b = stack[stack.length - 1];
      const a = stack[stack.length - 2];
      if (a.family !== b.family || a.len !== b.len || a.len === 0) break;
      const parentLen = a.len - 1;
      const parentMask = prefixMask(a.family, parentLen);
      if ((a.value & parentMask) !== (b.value & parentMask) || a.value === b.value) break;
      stack.splice(stack.length - 2, 2, { family: a.family, value: a.value & parentMask, len: parentLen });
    }
  }
  return stack;
}

/** `from` minus one prefix, as disjoint prefixes: the halves along the path to `hole` that avoid it. */
function subtractOne(from: Prefix, hole: Prefix): Prefix[] {
  if (!prefixesOverlap(from, hole)) return [from];
  if (prefixContains(hole, from)) return [];
  const bits = familyBits(from.family);
  const out: Prefix[] = [];
  for (let len = from.len + 1; len <= hole.len; len++) {
    const bit = 1n << BigInt(bits - len);
    const onPath = hole.value & prefixMask(from.family, len);
    out.push({ family: from.family, value: onPath ^ bit, len });
  }
  return out;
}

/** CIDR subtraction: the addresses of `from` that are in none of `holes`, as normalized prefixes. */
export function subtractPrefixes(from: readonly Prefix[], holes: readonly Prefix[]): Prefix[] {
  if (holes.length === 0) return normalizePrefixes(from);
  let current = normalizePrefixes(from);
  for (const hole of normalizePrefixes(holes)) {
    const next: Prefix[] = [];
    for (const prefix of current) next.push(...subtractOne(prefix, hole));
    current = next;
  }
  return normalizePrefixes(current);
}

/** Whether every address of `inner` is in `outer` (both any prefix lists). */
export function prefixSetContains(outer: readonly Prefix[], inner: readonly Prefix[]): boolean {
  return subtractPrefixes(inner, outer).length === 0;
}

export function parseMac(text: string): bigint | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return null;
  return BigInt(`0x${text.replace(/:/g, '')}`);
}

export function formatMac(value: bigint): string {
  return value.toString(16).padStart(12, '0').match(/../g)!.join(':');
}
