import { strict as assert } from 'assert';
import fc from 'fast-check';
import { fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import type { EntrySpec, FieldValue } from '../pipeline/entries';
import { codecFor, EntityError, type EntityErrorCode } from './entities';
import { P4InfoError } from './p4info';
import { decodeMessage, encodeMessage, type TableEntry } from './proto';
import { P4ValueError } from './values';
import { encodeUpdates } from './write';

const p4info = fixtureP4InfoIndex();
const codec = codecFor(p4info);

const big = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const mask = (bits: number) => big(bits).filter((m) => m !== 0n);

// Values that are matches, never the don't-care forms (those are omitted and cannot round-trip).
const exact = (bits: number) => big(bits).map((value): FieldValue => ({ kind: 'exact', value }));
const ternary = (bits: number) =>
  fc.tuple(big(bits), mask(bits)).map(([v, m]): FieldValue => ({ kind: 'ternary', value: v & m, mask: m }));
const range = (bits: number) =>
  fc
    .tuple(big(bits), big(bits))
    .map(([a, b]): FieldValue => ({ kind: 'range', low: a < b ? a : b, high: a < b ? b : a }))
    .filter((r) => r.kind === 'range' && !(r.low === 0n && r.high === (1n << BigInt(bits)) - 1n));
const optional = (bits: number) => big(bits).map((value): FieldValue => ({ kind: 'optional', value }));
const lpm = (bits: number) =>
  fc.tuple(big(bits), fc.integer({ min: 1, max: bits })).map(([v, len]): FieldValue => {
    const host = (1n << BigInt(bits - len)) - 1n;
    return { kind: 'lpm', value: v & ~host, prefixLen: len };
  });
const metadata = fc.option(fc.uint8Array({ minLength: 1, maxLength: 24 }), { nil: undefined });

function withMetadata(spec: EntrySpec, md: Uint8Array | undefined): EntrySpec {
  return md === undefined ? spec : { ...spec, metadata: Buffer.from(md) };
}

const exactEntry = fc
  .tuple(exact(16), big(9), metadata)
  .map(([a, port, md]) =>
    withMetadata({ table: 'ing.exact_t', match: { a }, action: 'ing.set_port', params: { port } }, md),
  );
const ternaryEntry = fc
  .record({
    k: exact(8),
    addr: fc.option(ternary(32), { nil: undefined }),
    dport: fc.option(range(16), { nil: undefined }),
    opt: fc.option(optional(8), { nil: undefined }),
    priority: fc.integer({ min: 1, max: 0x7fffffff }),
    drop: fc.boolean(),
    port: big(9),
  })
  .map(({ k, addr, dport, opt, priority, drop, port }): EntrySpec => {
    const match: Record<string, FieldValue> = { k };
    if (addr) match.addr = addr;
    if (dport) match.dport = dport;
    if (opt) match.opt = opt;
    return drop
      ? { table: 'ing.tern_t', match, priority, action: 'ing.drop', params: {} }
      : { table: 'ing.tern_t', match, priority, action: 'ing.set_port', params: { port } };
  });
const lpmEntry = lpm(32).map((dst): EntrySpec => ({
  table: 'ing.lpm_t',
  match: { dst },
  action: 'NoAction',
  params: {},
}));
const anyEntry = fc.oneof(exactEntry, ternaryEntry, lpmEntry);

function wire(entry: TableEntry): TableEntry {
  return decodeMessage('p4.v1.TableEntry', encodeMessage('p4.v1.TableEntry', entry));
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof EntityError || err instanceof P4ValueError || err instanceof P4InfoError)
      return err.code;
    throw err;
  }
  assert.fail('expected an error');
}

describe('entities: EntrySpec ↔ TableEntry', () => {
  it('round-trips every valid spec through the wire (read-write symmetry, P4Runtime §8.2)', () => {
    fc.assert(
      fc.property(anyEntry, (spec) => {
        assert.deepStrictEqual(codec.fromTableEntry(wire(codec.toTableEntry(spec))), spec);
      }),
      { numRuns: 300 },
    );
  });

  it('writes bulk updates byte-for-byte as protobufjs writes the same Update', () => {
    fc.assert(
      fc.property(fc.array(anyEntry, { minLength: 1, maxLength: 20 }), (specs) => {
        const ops = specs.map((entry, i) => ({
          type: i % 2 ? ('DELETE' as const) : ('INSERT' as const),
          entry,
        }));
        const encoded = encodeUpdates(ops, codec);
        const req = decodeMessage('p4.v1.WriteRequest', encoded.bytes);
        assert.equal(req.updates?.length, specs.length);
        ops.forEach((op, i) => {
          const expected = encodeMessage('p4.v1.Update', {
            type: op.type,
            entity: { table_entry: codec.toTableEntry(op.entry) },
          });
          // Each update's slice is field 4 of a WriteRequest: tag, length, then the Update itself.
          const slice = encoded.bytes.subarray(encoded.offsets[i], encoded.offsets[i + 1]);
          assert.deepEqual(
            decodeMessage('p4.v1.Update', slice.subarray(slice.length - expected.length)),
            decodeMessage('p4.v1.Update', expected),
          );
          assert.ok(slice.subarray(slice.length - expected.length).equals(expected));
        });
      }),
      { numRuns: 100 },
    );
  });

  it('encodes values canonically: shortest big-endian, zero as one byte (P4Runtime §8.3)', () => {
    const e = codec.toTableEntry({
      table: 'exact_t',
      match: { a: { kind: 'exact', value: 0n } },
      action: 'set_port',
      params: { port: 256n },
    });
    assert.deepEqual(e.match?.[0].exact?.value, Buffer.from([0]));
    assert.deepEqual(e.action?.action?.params?.[0].value, Buffer.from([1, 0]));
  });

  it("omits don't-care matches instead of sending them (P4Runtime §9.1.1)", () => {
    const spec: EntrySpec = {
      table: 'tern_t',
      match: {
        k: { kind: 'exact', value: 1n },
        addr: { kind: 'ternary', value: 0n, mask: 0n },
        dport: { kind: 'range', low: 0n, high: 0xffffn },
      },
      priority: 5,
      action: 'drop',
      params: {},
    };
    const entry = codec.toTableEntry(spec);
    assert.deepEqual(
      entry.match?.map((m) => m.field_id),
      [1],
    );
    const lpm0 = codec.toTableEntry({
      table: 'lpm_t',
      match: { dst: { kind: 'lpm', value: 0n, prefixLen: 0 } },
      action: 'NoAction',
      params: {},
    });
    assert.deepEqual(lpm0.match, []);
    // The wire form agrees.
    const req = decodeMessage(
      'p4.v1.WriteRequest',
      encodeUpdates([{ type: 'INSERT', entry: spec }], codec).bytes,
    );
    assert.equal(req.updates?.[0].entity?.table_entry?.match?.length, 1);
  });

  it('names tables and actions by their full P4Info names when reading back', () => {
    const spec = codec.fromTableEntry(
      wire(
        codec.toTableEntry({
          table: 'lpm_t',
          match: { dst: { kind: 'lpm', value: 0x0a000000n, prefixLen: 8 } },
          action: 'set_port',
          params: { port: 3n },
        }),
      ),
    );
    assert.equal(spec.table, 'ing.lpm_t');
    assert.equal(spec.action, 'ing.set_port');
  });

  const base: EntrySpec = {
    table: 'exact_t',
    match: { a: { kind: 'exact', value: 1n } },
    action: 'set_port',
    params: { port: 1n },
  };
  const refusals: [string, EntrySpec, EntityErrorCode | string][] = [
    ['an exact field left out', { ...base, match: {} }, 'MISSING_EXACT_MATCH'],
    [
      'an unknown match field',
      { ...base, match: { ...base.match, b: { kind: 'exact', value: 1n } } },
      'UNKNOWN_MATCH_FIELD',
    ],
    [
      'a value of the wrong match kind',
      { ...base, match: { a: { kind: 'lpm', value: 1n, prefixLen: 16 } } },
      'MATCH_KIND_MISMATCH',
    ],
    [
      'a value too wide for its field',
      { ...base, match: { a: { kind: 'exact', value: 1n << 16n } } },
      'OUT_OF_RANGE',
    ],
    ['a parameter too wide', { ...base, params: { port: 512n } }, 'OUT_OF_RANGE'],
    ['a missing parameter', { ...base, params: {} }, 'MISSING_PARAM'],
    ['an unknown parameter', { ...base, params: { port: 1n, vlan: 2n } }, 'UNKNOWN_PARAM'],
    ['a priority on an exact table', { ...base, priority: 3 }, 'PRIORITY_NOT_ALLOWED'],
    ['a default-only action', { ...base, action: 'miss', params: { code: 1n } }, 'DEFAULT_ONLY_ACTION'],
    ['an action the table does not have', { ...base, action: 'NoAction', params: {} }, 'ACTION_NOT_IN_TABLE'],
    ['an unknown table', { ...base, table: 'nope_t' }, 'UNKNOWN_TABLE'],
    [
      'no priority on a ternary table',
      { table: 'tern_t', match: { k: { kind: 'exact', value: 1n } }, action: 'drop', params: {} },
      'PRIORITY_REQUIRED',
    ],
    [
      'ternary value bits outside the mask',
      {
        table: 'tern_t',
        match: { k: { kind: 'exact', value: 1n }, addr: { kind: 'ternary', value: 3n, mask: 2n } },
        priority: 1,
        action: 'drop',
        params: {},
      },
      'NONZERO_OUTSIDE_MASK',
    ],
    [
      'a range with low above high',
      {
        table: 'tern_t',
        match: { k: { kind: 'exact', value: 1n }, dport: { kind: 'range', low: 9n, high: 8n } },
        priority: 1,
        action: 'drop',
        params: {},
      },
      'BAD_RANGE',
    ],
    [
      'LPM bits beyond the prefix',
      {
        table: 'lpm_t',
        match: { dst: { kind: 'lpm', value: 0x0a000001n, prefixLen: 8 } },
        action: 'NoAction',
        params: {},
      },
      'NONZERO_BEYOND_PREFIX',
    ],
  ];
  for (const [what, spec, code] of refusals) {
    it(`refuses ${what} (${code}), in both forms`, () => {
      assert.equal(
        codeOf(() => codec.toTableEntry(spec)),
        code,
      );
      // The bulk path reports the same cause, wrapped with the update's index.
      try {
        encodeUpdates(
          [
            { type: 'INSERT', entry: base },
            { type: 'INSERT', entry: spec },
          ],
          codec,
        );
        assert.fail('expected an error');
      } catch (err) {
        const e = err as { code: string; index: number; cause: { code: string } };
        assert.equal(e.code, 'BAD_UPDATE');
        assert.equal(e.index, 1);
        assert.equal(e.cause.code, code);
      }
    });
  }

  it('rejects on read-back what a server should never have returned', () => {
    const entry = codec.toTableEntry(base);
    assert.equal(
      codeOf(() =>
        codec.fromTableEntry({ ...entry, match: [{ field_id: 9, exact: { value: Buffer.from([1]) } }] }),
      ),
      'UNKNOWN_MATCH_FIELD',
    );
    assert.equal(
      codeOf(() =>
        codec.fromTableEntry({
          ...entry,
          match: [{ field_id: 1, exact: { value: Buffer.from([1, 0, 0]) } }],
        }),
      ),
      'OUT_OF_RANGE',
    );
    assert.equal(
      codeOf(() => codec.fromTableEntry({ ...entry, action: { action_profile_member_id: 1 } })),
      'UNSUPPORTED_ENTITY',
    );
  });
});

describe('entities: meters, registers, counters', () => {
  it('round-trips meter configurations and resets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }), { minLength: 4, maxLength: 4 }),
        (index, [cir, cburst, pir, pburst]) => {
          const entry = decodeMessage(
            'p4.v1.MeterEntry',
            encodeMessage(
              'p4.v1.MeterEntry',
              codec.toMeterEntry({ meter: 'ing.m', index, cir, cburst, pir, pburst }),
            ),
          );
          assert.deepStrictEqual(codec.fromMeterEntry(entry), {
            meter: 'ing.m',
            index,
            config: { cir, cburst, pir, pburst },
          });
        },
      ),
    );
    assert.deepStrictEqual(codec.fromMeterEntry(codec.toMeterReset('ing.m', 2)), {
      meter: 'ing.m',
      index: 2,
    });
    assert.equal(
      codeOf(() => codec.toMeterReset('ing.m', 4)),
      'INDEX_OUT_OF_RANGE',
    );
  });

  it('round-trips register cells and checks their width and index', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), big(64), (index, value) => {
        const entry = decodeMessage(
          'p4.v1.RegisterEntry',
          encodeMessage('p4.v1.RegisterEntry', codec.toRegisterEntry({ register: 'ing.r', index, value })),
        );
        assert.deepStrictEqual(codec.fromRegisterEntry(entry), { register: 'ing.r', index, value });
      }),
    );
    assert.equal(
      codeOf(() => codec.toRegisterEntry({ register: 'ing.r', index: 8, value: 1n })),
      'INDEX_OUT_OF_RANGE',
    );
    assert.equal(
      codeOf(() => codec.toRegisterEntry({ register: 'ing.r', index: 0, value: 1n << 64n })),
      'OUT_OF_RANGE',
    );
  });

  it('reads counter cells, int64 counts up to their maximum', () => {
    const cell = codec.fromCounterEntry(
      decodeMessage(
        'p4.v1.CounterEntry',
        encodeMessage(
          'p4.v1.CounterEntry',
          codec.toCounterEntry('ing.c', 7, { packets: (1n << 63n) - 1n, bytes: 12n }),
        ),
      ),
    );
    assert.deepStrictEqual(cell, { counter: 'ing.c', index: 7, packets: (1n << 63n) - 1n, bytes: 12n });
  });
});
