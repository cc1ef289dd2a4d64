// The softnic against real bmv2: the same policies applied to both through the same controller code,
// the same frames sent to both as report-mode PacketOut probes, and every verdict (egress port,
// reason, rule id, the frame that came back) and then every counter and register cell the policy
// uses compared one by one. nicguard's claims about bmv2 rest on the softnic behaving as bmv2 does;
// this is where that is checked. Needs simple_switch_grpc and p4c on PATH and the compiled program
// in p4/build; without them the suite is pending with one line saying what is missing.
//
// Both devices see exactly the same history (policies, frames, order), so counter values are
// compared as they stand, not as differences.

import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { agentDef, packetArb, policyArb } from '../../controller/compiler/arbitraries';
import { compilePolicy, type CompiledPolicy } from '../../controller/compiler/compile';
import { reasonName } from '../../controller/pipeline/contract';
import { PROFILES } from '../../controller/pipeline/profiles';
import { ETH_IPV4, type Packet } from '../../controller/policy/evaluate';
import { loadPolicySet } from '../../controller/policy/load';
import type { PolicySet, RuleDef } from '../../controller/policy/model';
import { requireUp } from '../../controller/paths';
import { bmv2Availability } from '../../controller/scenario/bmv2';
import { GATEWAY_MAC, edgePackets, frameOf } from './packets';
import { DevicePair, differingCells, type ProbeVerdict } from './pair';

const SEED = Number(process.env.NICGUARD_DIFFERENTIAL_SEED ?? 20_261_128);
const RANDOM_POLICIES = 50;
const PACKETS_PER_POLICY = 12;
/** Disagreements listed in a failure; the count is always given. */
const SHOWN = 15;

const examplesDir = () => requireUp('examples');

function describeVerdict(v: ProbeVerdict): string {
  return (
    `egress ${v.egressPort} reason ${reasonName(v.reason)}(${v.reason}) rule ${v.ruleId} ` +
    `ingress ${v.ingressPort} audited ${v.audited} pad ${v.pad}`
  );
}

/** Runs policies one after another on both devices and collects every disagreement. */
class Differential {
  readonly disagreements: string[] = [];
  probes = 0;
  /** bmv2's verdicts by reason, and how many cells were compared: what the run covered. */
  readonly reasons = new Map<string, number>();
  cellsCompared = 0;
  private previous: CompiledPolicy | undefined;

  constructor(private readonly pair: DevicePair) {}

  async run(label: string, policy: PolicySet, packets: readonly Packet[]): Promise<void> {
    const compiled = compilePolicy(
      policy,
      PROFILES.bmv2,
      this.previous ? { previous: this.previous.allocation } : {},
    );
    const applied = await this.pair.apply(compiled);
    if (applied.bmv2 !== applied.softnic) {
      this.disagreements.push(
        `${label}: apply: bmv2 ${applied.bmv2 ?? 'ok'}, softnic ${applied.softnic ?? 'ok'}`,
      );
    }
    assert.equal(applied.bmv2, undefined, `${label}: the policy did not apply to bmv2: ${applied.bmv2}`);
    this.previous = compiled;
    for (const packet of packets) {
      const frame = frameOf(packet);
      const got = await this.pair.probe(packet.ingressPort, frame);
      this.probes++;
      const b = got.bmv2;
      const s = got.softnic;
      const reason = reasonName(b.reason) + (b.audited ? ' (audited)' : '');
      this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
      const same =
        b.egressPort === s.egressPort &&
        b.reason === s.reason &&
        b.ruleId === s.ruleId &&
        b.ingressPort === s.ingressPort &&
        b.audited === s.audited &&
        b.pad === s.pad;
      if (!same) {
        this.disagreements.push(
          `${label}: verdict for ${JSON.stringify(packet)} (frame ${Buffer.from(frame).toString('hex')}):\n` +
            `    bmv2    ${describeVerdict(b)}\n    softnic ${describeVerdict(s)}`,
        );
      } else if (b.payload !== s.payload) {
        this.disagreements.push(
          `${label}: returned frame for ${JSON.stringify(packet)}:\n    bmv2    ${b.payload}\n    softnic ${s.payload}`,
        );
      }
    }
    const cells = await this.pair.cells(compiled);
    this.cellsCompared += cells.bmv2.size;
    for (const d of differingCells(cells.bmv2, cells.softnic)) this.disagreements.push(`${label}: ${d}`);
  }

  summary(): string {
    const reasons = [...this.reasons].map(([r, n]) => `${r} ${n}`).join(', ');
    return `${this.probes} probes on each device (${reasons}), ${this.cellsCompared} counter cells compared`;
  }

  check(): void {
    // A run where every frame got the same verdict would compare nothing worth comparing.
    assert.ok((this.reasons.get('NONE') ?? 0) > 0, `nothing was forwarded: ${this.summary()}`);
    assert.ok(this.reasons.size >= 3, `too few kinds of verdict: ${this.summary()}`);
    const strays = this.pair.sides.map((s) => s.probe.strays);
    assert.deepEqual(strays, [0, 0], 'PacketIns that answered no probe');
    if (this.disagreements.length === 0) return;
    assert.fail(
      `${this.disagreements.length} disagreement(s) between bmv2 and the softnic:\n` +
        this.disagreements.slice(0, SHOWN).join('\n') +
        (this.disagreements.length > SHOWN ? `\n... and ${this.disagreements.length - SHOWN} more` : ''),
    );
  }
}

/**
 * A policy whose limits a short train of frames reaches: a quota of a few frames, and an agent whose
 * exfiltration threshold is passed by what it receives from a sensitive source. Quotas and tallies
 * live in registers, which only the data plane changes here, so both devices reach them together.
 */
function limitsPolicy(): { policy: PolicySet; packets: Packet[] } {
  const agent = { ...agentDef(0, 'enforce'), exfiltrationThreshold: 600 };
  const rule = (name: string, cidr: string, extra: Partial<RuleDef>): RuleDef => ({
    name,
    agents: [agent.name],
    groups: [],
    destinations: [],
    cidrs: [{ cidr, except: [] }],
    fqdns: [],
    ports: [{ protocol: 'TCP', port: 443 }],
    action: 'allow',
    trusted: false,
    mode: 'enforce',
    ...extra,
  });
  const policy: PolicySet = {
    uplinkPort: 0,
    agents: [agent],
    groups: [],
    destinations: [],
    rules: [
      rule('small-quota', '192.0.2.7/32', { quota: { bytes: 900, windowSeconds: 3600 } }),
      rule('untrusted', '198.51.100.0/24', {}),
      rule('trusted', '203.0.113.0/24', { trusted: true }),
    ],
    sensitiveSources: ['10.20.0.0/16'],
  };
  const out = (dst: string): Packet => ({
    ingressPort: agent.port,
    srcMac: agent.mac,
    ethType: ETH_IPV4,
    src: agent.ipv4[0],
    dst,
    protocol: 6,
    dstPort: 443,
  });
  const fromSensitive: Packet = {
    ingressPort: 0,
    srcMac: GATEWAY_MAC,
    dstMac: agent.mac,
    ethType: ETH_IPV4,
    src: '10.20.0.5',
    dst: agent.ipv4[0],
    protocol: 6,
    dstPort: 40000,
  };
  const packets: Packet[] = [];
  for (let i = 0; i < 15; i++) packets.push(out('192.0.2.7'));
  for (let i = 0; i < 10; i++) packets.push(out('198.51.100.9'), out('203.0.113.10'), fromSensitive);
  return { policy, packets };
}

describe('bmv2 differential: the softnic decides and counts as bmv2 does', function () {
  this.timeout(30 * 60_000);
  let pair: DevicePair | undefined;

  before(async function () {
    const available = bmv2Availability(['p4c']);
    if (!available.ok) {
      console.log(`bmv2 differential: skipped: ${available.missing}`);
      this.skip();
    }
    pair = await DevicePair.start();
  });

  after(async () => {
    await pair?.close();
  });

  it('the example policies, at the edges of every rule', async () => {
    const differential = new Differential(pair!);
    const files = readdirSync(examplesDir())
      .filter((f) => f.endsWith('.policy.yaml'))
      .sort();
    assert.ok(files.length >= 4, `expected the four examples, found ${files.join(', ')}`);
    for (const file of files) {
      const loaded = loadPolicySet(join(examplesDir(), file));
      assert.ok(loaded.policySet, `${file} did not load`);
      const packets = edgePackets(loaded.policySet);
      await differential.run(basename(file), loaded.policySet, packets);
    }
    console.log(`      ${files.length} examples: ${differential.summary()}`);
    assert.ok(differential.probes > files.length * 20);
    differential.check();
  });

  it('a quota spent and an exfiltration threshold passed', async () => {
    const differential = new Differential(pair!);
    const { policy, packets } = limitsPolicy();
    await differential.run('limits policy', policy, packets);
    console.log(`      ${differential.summary()}`);
    for (const reason of ['QUOTA', 'EXFIL'])
      assert.ok(differential.reasons.has(reason), `bmv2 never said ${reason}: ${differential.summary()}`);
    differential.check();
  });

  it(`random policies and packets (seed ${SEED})`, async () => {
    console.log(`      bmv2 differential: seed ${SEED} (set NICGUARD_DIFFERENTIAL_SEED to replay another)`);
    const differential = new Differential(pair!);
    const cases = fc.sample(
      policyArb.chain((policy) =>
        fc.tuple(
          fc.constant(policy),
          fc.array(packetArb(policy), { minLength: PACKETS_PER_POLICY, maxLength: PACKETS_PER_POLICY }),
        ),
      ),
      { seed: SEED, numRuns: RANDOM_POLICIES },
    );
    for (const [i, [policy, packets]] of cases.entries()) {
      await differential.run(`random policy #${i}`, policy, packets);
    }
    console.log(`      ${cases.length} policies: ${differential.summary()}`);
    assert.equal(differential.probes, RANDOM_POLICIES * PACKETS_PER_POLICY);
    differential.check();
  });
});
