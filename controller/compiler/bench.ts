// Compiler and planner figures, each the median of several runs (other work shares the machine):
//   compile       10k agents × 10 rules (and 1k × 10: the ratio shows how it scales), 10k agents
//                 sharing rules per group, and a recompile after one rule change with `reuse`
//   plan          one rule change against ~140k installed entries, and a full plan from empty
//   apply         one rule change planned and applied through a DeviceWriter, against a full re-push
//                 (every entry written to an empty device) in the same run, with the ratio: to an
//                 in-memory device, and through the P4Runtime client to a softnic on loopback
// Wall-clock figures are what the goals are stated in; CPU figures show how much of a wall figure
// was the machine being busy with other work. Each compile run gets a policy of its own, built
// before its clock starts, as a controller compiles a policy it has just loaded.
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { BenchRow } from '../bench';
import { DeviceClient } from '../p4runtime/client';
import { loadP4Info } from '../p4runtime/p4info';
import { EntrySpec, MeterConfigSpec, entryKey } from '../pipeline/entries';
import { PROFILES, TargetProfile } from '../pipeline/profiles';
import { AgentDef, PolicySet, PortSelector, RuleDef } from '../policy/model';
import { Softnic } from '../softnic/server';
import { DeviceWriter, UpdateResult, applyPlan } from './apply';
import { CompiledPolicy, compilePolicy } from './compile';
import { Update, planChange, planUpdates } from './plan';

/** Agents in groups of 100 sharing ten rules per group: the shape of a fleet-wide policy. */
export function syntheticGroupPolicy(agentCount: number, rulesPerGroup = 10): PolicySet {
  const base = syntheticPolicy(agentCount, 0);
  const groups = [];
  const rules: RuleDef[] = [];
  for (let g = 0; g * 100 < agentCount; g++) {
    const name = `group-${g}`;
    groups.push({ name, agents: base.agents.slice(g * 100, g * 100 + 100).map((a) => a.name) });
    for (let r = 0; r < rulesPerGroup; r++) {
      rules.push({
        name: `${name}-r${r}`,
        agents: [],
        groups: [name],
        destinations: [],
        fqdns: [],
        trusted: r % 3 === 0,
        mode: 'enforce',
        cidrs: [{ cidr: `10.${r}.0.0/16`, except: r === 0 ? ['10.0.1.0/24'] : [] }],
        ports: [{ protocol: 'TCP', port: 8000 + r, endPort: 8100 + r }],
        action: r === 9 ? 'deny' : 'allow',
      });
    }
  }
  return { ...base, groups, rules };
}

/** Agents with ten rules each: a deny, an allow with a quota, port ranges, v4 and v6, an except. */
export function syntheticPolicy(agentCount: number, rulesPerAgent = 10): PolicySet {
  const agents: AgentDef[] = [];
  const rules: RuleDef[] = [];
  for (let i = 0; i < agentCount; i++) {
    const name = `agent-${i}`;
    const hi = (i >> 8) & 0xff;
    const lo = i & 0xff;
    agents.push({
      name,
      // Ports and ids beyond the device's width are reported by the capacity check, not here.
      port: i + 1 >= 255 ? i + 2 : i + 1,
      mac: `02:00:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${hi.toString(16).padStart(2, '0')}:${lo.toString(16).padStart(2, '0')}`,
      ipv4: [`10.${(i >> 16) & 0xff}.${hi}.${lo}`],
      ipv6: [],
      mode: 'enforce',
    });
    for (let r = 0; r < rulesPerAgent; r++) rules.push(syntheticRule(name, r));
  }
  return { uplinkPort: 0, agents, groups: [], destinations: [], rules, sensitiveSources: ['10.20.0.0/16'] };
}

/**
 * Rule r of an agent, built the way the loader builds rules: one object literal in its field order,
 * the quota spread in only where there is one. (Objects spread from a shared base would get a
 * hidden class each in V8, which no loaded policy has, and every read of a rule field would be
 * slower than it is for a real policy.)
 */
function syntheticRule(agent: string, r: number): RuleDef {
  const name = `${agent}-r${r}`;
  const cidrs = [
    {
      cidr:
        r === 0 ? '192.0.2.0/24' : r === 1 ? '203.0.113.0/24' : r === 2 ? '2001:db8::/32' : `10.${r}.0.0/16`,
      except: [],
    },
  ];
  const ports: PortSelector[] =
    r === 0
      ? []
      : r <= 2
        ? [{ protocol: 'TCP', port: 443 }]
        : [{ protocol: 'TCP', port: 8000 + r, endPort: 8100 + r }];
  const action = r === 0 ? 'deny' : 'allow';
  return {
    name,
    agents: [agent],
    groups: [],
    destinations: [],
    cidrs,
    fqdns: [],
    ports,
    action,
    trusted: false,
    mode: 'enforce',
    ...(r === 1 ? { quota: { bytes: 50 << 20, windowSeconds: 3600 } } : {}),
  };
}

interface Sample {
  readonly wall: number;
  readonly cpu: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function measure<T>(fn: () => T | Promise<T>): Promise<[T, Sample]> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const out = await fn();
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return [out, { wall, cpu: (used.user + used.system) / 1e6 }];
}

/** Median wall and CPU seconds of `runs` runs; the last run's result. */
async function medianOf<T>(runs: number, fn: () => T | Promise<T>): Promise<[T, Sample]> {
  let last: T | undefined;
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const [out, sample] = await measure(fn);
    last = out;
    samples.push(sample);
  }
  return [last as T, { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) }];
}

/**
 * Median wall and CPU seconds of `runs` runs of `fn`, each on an input `make` builds before the
 * clock starts; the last run's input and result. A compile is timed on a policy it has not seen,
 * as a controller compiles a freshly loaded one: nothing kept with the objects of one run can make
 * the next look cheaper.
 */
async function medianOfFresh<I, T>(
  runs: number,
  make: () => I,
  fn: (input: I) => T,
): Promise<[I, T, Sample]> {
  let last: [I, T] | undefined;
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    last = undefined;
    const input = make();
    const [out, sample] = await measure(() => fn(input));
    last = [input, out];
    samples.push(sample);
  }
  const [input, out] = last as [I, T];
  return [input, out, { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) }];
}

const cpuNote = (sample: Sample) => `cpu ${sample.cpu.toFixed(3)} s`;

/** A device in memory that refuses what a P4Runtime server would: a double insert, a missing entry. */
class MemoryDevice implements DeviceWriter {
  readonly entries = new Map<string, EntrySpec>();
  readonly meters = new Map<string, MeterConfigSpec>();

  async write(updates: readonly Update[]): Promise<readonly UpdateResult[]> {
    return updates.map((update): UpdateResult => {
      if ('entry' in update) {
        const key = entryKey(update.entry);
        const present = this.entries.has(key);
        if (update.type === 'INSERT' && present) return { ok: false, code: 'ALREADY_EXISTS' };
        if (update.type !== 'INSERT' && !present) return { ok: false, code: 'NOT_FOUND' };
        if (update.type === 'DELETE') this.entries.delete(key);
        else this.entries.set(key, update.entry);
      } else if ('meter' in update)
        this.meters.set(`${update.meter.meter}#${update.meter.index}`, update.meter);
      return { ok: true };
    });
  }
}

/** The rule at `at` with its port range narrowed by one: one rule change, whose keys move. */
function toggleRule(policy: PolicySet, at: number): PolicySet {
  return {
    ...policy,
    rules: policy.rules.map((r, i) =>
      i !== at
        ? r
        : {
            ...r,
            ports: r.ports.map((p) => (p.port !== undefined ? { ...p, port: p.port + 1 } : p)),
          },
    ),
  };
}

interface ApplyFigures {
  readonly full: Sample;
  readonly fullUpdates: number;
  readonly change: Sample;
  readonly changeUpdates: number;
}

/**
 * A full re-push of `policy` to an empty device, then one rule change planned and applied against
 * it, several times over (each run narrows the rule again). Before each change the installed state
 * has been planned against once, as a controller that checked its last apply has it indexed.
 */
async function applyFigures(
  policy: PolicySet,
  profile: TargetProfile,
  writer: DeviceWriter,
  rule: number,
  runs: number,
): Promise<ApplyFigures> {
  const compiled = compilePolicy(policy, profile);
  const [fullPlan, full] = await measure(async () => {
    const plan = planChange([], compiled, profile);
    const result = await applyPlan(plan, writer);
    if (!result.ok) throw result.error;
    return plan;
  });
  let installed: CompiledPolicy = compiled;
  let current = policy;
  const samples: Sample[] = [];
  let changeUpdates = 0;
  for (let i = 0; i < runs; i++) {
    const state = { entries: installed.entries, meters: installed.meters };
    if (planUpdates(planChange(state, installed, profile)).length !== 0) throw new Error('device differs');
    current = toggleRule(current, rule);
    const next = compilePolicy(current, profile, { previous: installed.allocation, reuse: installed });
    const [plan, sample] = await measure(async () => {
      const p = planChange(state, next, profile);
      const result = await applyPlan(p, writer);
      if (!result.ok) throw result.error;
      return p;
    });
    samples.push(sample);
    changeUpdates = planUpdates(plan).length;
    installed = next;
  }
  return {
    full,
    fullUpdates: planUpdates(fullPlan).length,
    change: { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) },
    changeUpdates,
  };
}

function applyRows(label: string, figures: ApplyFigures): BenchRow[] {
  return [
    {
      name: `one rule change, plan + apply (${label}); ${cpuNote(figures.change)}`,
      value: figures.change.wall * 1000,
      unit: 'ms',
      goal: '<= 50 ms',
    },
    { name: `updates in the one rule change (${label})`, value: figures.changeUpdates, unit: 'updates' },
    {
      name: `full re-push, plan + apply (${label}); ${cpuNote(figures.full)}`,
      value: figures.full.wall * 1000,
      unit: 'ms',
    },
    { name: `updates in the full re-push (${label})`, value: figures.fullUpdates, unit: 'updates' },
    {
      name: `full re-push / one rule change (${label})`,
      value: figures.full.wall / figures.change.wall,
      unit: 'x',
      goal: '>= 100x',
      ratio: figures.full.wall / figures.change.wall,
    },
  ];
}

function findP4Info(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'p4', 'build', 'nicguard.p4info.json');
    if (fs.existsSync(file)) return file;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export async function benchCompiler(options: { runs?: number } = {}): Promise<BenchRow[]> {
  // Five runs: a full collection of the previous run's garbage lands in one run or two of them.
  const runs = options.runs ?? 5;
  const profile = PROFILES.bmv2;
  const noCheck = { checkCapacity: false };
  const compile = (policy: PolicySet) => compilePolicy(policy, profile, noCheck);
  compile(syntheticPolicy(1000)); // warm-up
  const [, , tSmall] = await medianOfFresh(runs, () => syntheticPolicy(1000), compile);
  const [large, compiled, tLarge] = await medianOfFresh(runs, () => syntheticPolicy(10000), compile);
  const rows: BenchRow[] = [
    {
      name: `compile 10k agents x 10 rules (bmv2); ${cpuNote(tLarge)}`,
      value: tLarge.wall,
      unit: 's',
      goal: '<= 0.5 s',
      ratio: tLarge.wall / 0.5,
    },
    { name: `compile 1k agents x 10 rules (bmv2); ${cpuNote(tSmall)}`, value: tSmall.wall, unit: 's' },
    {
      name: 'compile scaling 1k -> 10k agents',
      value: tLarge.wall / tSmall.wall,
      unit: 'x',
      goal: '~10 (near-linear)',
      ratio: tLarge.wall / tSmall.wall / 10,
    },
    { name: 'compiled entries at 10k agents', value: compiled.entries.length, unit: 'entries' },
    {
      // The contract holds 4095 agents and 511 ports: the synthetic policy is over the limit on purpose.
      name: 'capacity issues at 10k agents (bmv2)',
      value: compiled.capacityIssues.length,
      unit: 'issues',
      goal: compiled.capacityIssues.map((i) => `${i.resource} ${i.need}/${i.limit}`).join('; '),
    },
  ];

  compile(syntheticGroupPolicy(1000)); // warm-up
  const [, , tGroupSmall] = await medianOfFresh(runs, () => syntheticGroupPolicy(1000), compile);
  const [, , tGroup] = await medianOfFresh(runs, () => syntheticGroupPolicy(10000), compile);
  rows.push(
    {
      name: `compile 10k agents, 10 shared rules per group of 100 (bmv2); ${cpuNote(tGroup)}`,
      value: tGroup.wall,
      unit: 's',
      goal: '<= 0.5 s',
      ratio: tGroup.wall / 0.5,
    },
    {
      name: 'compile scaling 1k -> 10k agents (group rules)',
      value: tGroup.wall / tGroupSmall.wall,
      unit: 'x',
      goal: '~10 (near-linear)',
      ratio: tGroup.wall / tGroupSmall.wall / 10,
    },
  );

  // One rule of one agent changes against everything installed. The installed entries have been
  // planned against before (as a controller that checked its last apply has them indexed).
  const edited = toggleRule(large, 5000 * 10 + 3);
  const installed = { entries: compiled.entries, meters: compiled.meters };
  planChange(installed, compiled, profile);
  const reuse = { ...noCheck, previous: compiled.allocation, reuse: compiled };
  const [next, tRecompile] = await medianOf(runs, () => compilePolicy(edited, profile, reuse));
  const [plan, tPlan] = await medianOf(runs, () => planChange(installed, next, profile));
  const fresh = compilePolicy(edited, profile, noCheck);
  const [full, tFull] = await medianOf(runs, () => planChange([], fresh, profile));
  rows.push(
    {
      name: `recompile after one rule change, with reuse (10k agents); ${cpuNote(tRecompile)}`,
      value: tRecompile.wall,
      unit: 's',
    },
    {
      name: `plan one rule change vs installed entries; ${cpuNote(tPlan)}`,
      value: tPlan.wall * 1000,
      unit: 'ms',
    },
    { name: 'updates planned for the one rule change', value: planUpdates(plan).length, unit: 'updates' },
    { name: 'installed entries at the one rule change', value: compiled.entries.length, unit: 'entries' },
    {
      name: `full plan from an empty device; ${cpuNote(tFull)}`,
      value: tFull.wall * 1000,
      unit: 'ms',
      ratio: tPlan.wall / tFull.wall,
    },
    { name: 'updates in the full plan', value: planUpdates(full).length, unit: 'updates' },
  );

  // Plan + apply. A fleet that fits the device (500 agents, 200 rules each: ~100k ACL entries), so
  // that the softnic, which holds the contract's table sizes, takes all of it.
  const fleet = syntheticPolicy(500, 200);
  const target = PROFILES.softnic;
  const changed = 250 * 200 + 7;
  rows.push(
    ...applyRows('in-memory writer', await applyFigures(fleet, target, new MemoryDevice(), changed, 5)),
  );
  const p4infoFile = findP4Info();
  if (p4infoFile) {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1n });
    const client = await DeviceClient.connect({
      address: `127.0.0.1:${nic.port}`,
      deviceId: 1n,
      electionId: 1n,
      insecure: true,
      profile: 'softnic',
      reconnect: false,
    });
    try {
      await client.ensurePipeline({
        p4info: loadP4Info(fs.readFileSync(p4infoFile, 'utf8')),
        deviceConfig: Buffer.alloc(0),
      });
      const writer: DeviceWriter = { write: (updates) => client.writeBatch(updates) };
      rows.push(
        ...applyRows('P4Runtime client to softnic', await applyFigures(fleet, target, writer, changed, 5)),
      );
    } finally {
      client.close();
      await nic.stop();
    }
  }
  return rows;
}

if (require.main === module) {
  void benchCompiler().then((rows) => {
    for (const row of rows)
      console.log(
        `${row.name}: ${row.value.toFixed(3)} ${row.unit}${row.goal ? ` (${row.goal})` : ''}${row.ratio !== undefined ? ` ratio ${row.ratio.toFixed(3)}` : ''}`,
      );
  });
}
