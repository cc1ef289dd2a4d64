// Random evidence records for the property tests (test support only: imports fast-check).
import fc from 'fast-check';

/**
 * Strings from the whole Unicode range, with quotes, backslashes, control characters, a line
 * separator, NUL and the empty string, so that both the plain and the escaping path of the leaf
 * encoder run. Strings with lone surrogates have no UTF-8 form: the store refuses them.
 */
export const leafText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', ''),
);

/** Counter readings as numbers and as bigints up to the leaf format's 63-bit limit. */
export const counterValue = fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }));

export const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined });

/** A counter_sample record as a collector hands it to the store. */
export const counterSampleRecord = fc.record(
  {
    kind: fc.constant('counter_sample' as const),
    time: fc.nat(),
    device: leafText,
    table: leafText,
    ruleId: leafText,
    ruleName: optional(leafText),
    agent: optional(leafText),
    policyVersion: leafText,
    packets: counterValue,
    bytes: counterValue,
    epoch: optional(leafText),
  },
  { noNullPrototype: true },
);
