// The two-rate three-colour marker exactly as bmv2 implements it (src/bm_sim/meters.cpp, Meter),
// fed with the configuration PI derives from a P4Runtime MeterConfig (PI/src/direct_res_spec.cpp,
// convert_from_meter_spec; proto/frontend/src/device_mgr.cpp, meter_spec_proto_to_pi), so that a
// policy's rate limit colours the same packets in the software target as on bmv2:
//
//   * P4Runtime gives rates in units per second and bursts in units (P4Runtime §9.6). PI narrows
//     each burst to 32 bits and bmv2 stores each rate as a double in units per MICROSECOND
//     (rate / 1e6). All four fields at -1 mean "the default configuration": unconfigured.
//   * Each rate is a token bucket that starts full. The buckets are tried highest rate first (PIR,
//     then CIR): the first one short of the packet's size gives the colour (PIR: red, CIR: yellow)
//     and the buckets after it are left untouched; every bucket that has enough is debited.
//   * Time is whole microseconds since the meter array was created (truncated, never rounded),
//     and a bucket's refill is computed from that origin, not from the previous packet:
//     tokens earned so far = trunc(micros * rate), minus what was already credited. Sub-token
//     remainders are therefore never lost, and sub-microsecond gaps earn nothing.
//   * An unconfigured meter marks everything green.

import type { MeterCell, MeterRates } from './state';

export const Color = { GREEN: 0, YELLOW: 1, RED: 2 } as const;
export type ColorValue = (typeof Color)[keyof typeof Color];

interface Bucket {
  /** Units per microsecond. */
  readonly rate: number;
  readonly burst: number;
  /** Colour given when this bucket is short. */
  readonly color: ColorValue;
  tokens: number;
  /** Tokens credited from the origin up to the last execution: trunc(micros * rate). */
  credited: number;
}

/** The model's state for one meter cell, kept in MeterCell.model. */
interface MeterModel {
  /** The configuration the buckets were built from; a different object means it was rewritten. */
  readonly config: MeterRates | undefined;
  /** Highest rate first, the order bmv2 executes them in. Empty when unconfigured. */
  readonly buckets: readonly Bucket[];
}

const U64 = 64;
const U32 = 32;

/** What bmv2 ends up holding for a MeterConfig: [CIR, PIR] as (units/µs, burst), or null. */
export function bmv2Rates(config: MeterRates | undefined): { rate: number; burst: number }[] | null {
  if (config === undefined) return null;
  if (config.cir === -1n && config.cburst === -1n && config.pir === -1n && config.pburst === -1n) return null;
  const convert = (rate: bigint, burst: bigint) => ({
    rate: Number(BigInt.asUintN(U64, rate)) / 1e6,
    burst: Number(BigInt.asUintN(U32, burst)),
  });
  return [convert(config.cir, config.cburst), convert(config.pir, config.pburst)];
}

function buildModel(cell: MeterCell): MeterModel {
  const rates = bmv2Rates(cell.config);
  // bmv2 refuses a CIR above the PIR (Meter::set_rate, INVALID_INFO_RATE_VALUE) and leaves the
  // meter unconfigured; the server should have rejected such a write, but if one got through the
  // meter stays green as bmv2's would.
  if (rates === null || rates[0].rate > rates[1].rate) return { config: cell.config, buckets: [] };
  const bucket = (r: { rate: number; burst: number }, color: ColorValue): Bucket => ({
    rate: r.rate,
    burst: r.burst,
    color,
    tokens: r.burst,
    credited: 0,
  });
  return { config: cell.config, buckets: [bucket(rates[1], Color.RED), bucket(rates[0], Color.YELLOW)] };
}

function modelOf(cell: MeterCell): MeterModel {
  const existing = cell.model as MeterModel | undefined;
  if (existing !== undefined && existing.config === cell.config) return existing;
  const fresh = buildModel(cell);
  cell.model = fresh;
  return fresh;
}

/**
 * Colours a packet of `units` (bytes for a bytes meter) at `micros` whole microseconds since the
 * meter array's origin, updating the cell's buckets.
 */
export function executeMeter(cell: MeterCell, units: number, micros: number): ColorValue {
  if (cell.config === undefined) return Color.GREEN;
  const { buckets } = modelOf(cell);
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    const earned = Math.trunc(micros * b.rate);
    // A clock that steps back would trip an assertion in bmv2; here it simply earns nothing.
    if (earned > b.credited) {
      b.tokens = Math.min(b.tokens + (earned - b.credited), b.burst);
      b.credited = earned;
    }
    if (b.tokens < units) return b.color;
    b.tokens -= units;
  }
  return Color.GREEN;
}

/** Whole microseconds between two nanosecond instants, truncated as std::chrono::duration_cast does. */
export function microsSince(originNs: bigint, nowNs: bigint): number {
  const elapsed = nowNs - originNs;
  return elapsed <= 0n ? 0 : Number(elapsed / 1000n);
}
