// Equality and hashing of plain data (what a policy loader produces: strings, numbers, booleans,
// null, arrays and plain objects) that agree with JSON.stringify without calling it. A compile of
// a hundred thousand rules finds the rules of one content by these instead of by serializing each
// rule's content, which was the largest single cost of reading the rules.
//
// The rule: samePlainData(a, b) implies JSON.stringify(a) === JSON.stringify(b). Where JSON.stringify
// would hide a difference (undefined against null, two NaNs, a Date, a toJSON method, a key order)
// the values are reported unequal: a caller that then serializes loses time, never correctness.
import { FNV1A_OFFSET } from './metadata';

const FNV_PRIME = 0x01000193;

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** One more 32-bit word into an FNV-1a-style hash. */
function mix(hash: number, word: number): number {
  return Math.imul(hash ^ word, FNV_PRIME) >>> 0;
}

/**
 * 32-bit hashes of plain data: equal for values samePlainData calls equal. Texts are hashed by a
 * number given to each distinct text the first time it is seen, which the engine finds by the hash
 * it keeps with each string, instead of reading the text again every time. Values of other kinds
 * hash by kind only (they equal nothing, so any hash serves).
 */
export class PlainDataHasher {
  private readonly textIds = new Map<string, number>();

  private text(hash: number, text: string): number {
    let id = this.textIds.get(text);
    if (id === undefined) this.textIds.set(text, (id = this.textIds.size));
    return mix(hash, id);
  }

  hash(value: unknown, hash = FNV1A_OFFSET): number {
    switch (typeof value) {
      case 'string':
        return this.text(mix(hash, 1), value);
      case 'number':
        // Equal numbers are one value (0 and -0 too), and an int32 is its own hash.
        return (value | 0) === value ? mix(mix(hash, 2), value) : this.text(mix(hash, 3), String(value));
      case 'boolean':
        return mix(hash, value ? 4 : 5);
      case 'undefined':
        return mix(hash, 6);
      case 'object': {
        if (value === null) return mix(hash, 7);
        if (Array.isArray(value)) {
          let h = mix(hash, 8);
          for (const item of value as unknown[]) h = this.hash(item, h);
          return mix(h, value.length);
        }
        // Own keys in order, as samePlainData compares them; a plain object has no others.
        let h = mix(hash, 9);
        for (const key in value) {
          h = this.text(h, key);
          h = this.hash((value as Record<string, unknown>)[key], h);
        }
        return h;
      }
      default:
        return mix(hash, 10);
    }
  }
}

/** Whether two values are the same plain data, with keys in the same order (see the rule above). */
export function samePlainData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlainData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !isPlainObject(a) || !isPlainObject(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (let i = 0; i < keysA.length; i++) {
    const key = keysA[i];
    if (key !== keysB[i]) return false;
    if (!samePlainData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
      return false;
  }
  return true;
}
