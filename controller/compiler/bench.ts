// Compiler and planner figures: compile time at 10k agents × 10 rules and how it scales from 1k,
// and planning one rule change against ~100k installed entries versus planning everything from
// an empty device, measured in the same run.
import { performance } from 'perf_hooks';
import { PROFILES } from '../pipeline/profiles';
import { AgentDef, PolicySet, RuleDef } from '../policy/model';
import { compilePolicy } from './compile';
import { planChange, planUpdates } from './plan';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  goal?: string;
  ratio?: number;
}

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
    for (let r = 0; r < rulesPerAgent; r++) {
      const base = {
        name: `${name}-r${r}`,
        agents: [name],
        groups: [],
        destinations: [],
        fqdns: [],
        trusted: false,
        mode: 'enforce' as const,
      };
      if (r === 0)
        rules.push({ ...base, cidrs: [{ cidr: '192.0.2.0/24', except: [] }], ports: [], action: 'deny' });
      else if (r === 1)
        rules.push({
          ...base,
          cidrs: [{ cidr: '203.0.113.0/24', except: [] }],
          ports: [{ protocol: 'TCP', port: 443 }],
          action: 'allow',
          quota: { bytes: 50 << 20, windowSeconds: 3600 },
        });
      else if (r === 2)
        rules.push({
          ...base,
          cidrs: [{ cidr: '2001:db8::/32', except: [] }],
          ports: [{ protocol: 'TCP', port: 443 }],
          action: 'allow',
        });
      else
        rules.push({
          ...base,
          cidrs: [{ cidr: `10.${r}.0.0/16`, except: [] }],
          ports: [{ protocol: 'TCP', port: 8000 + r, endPort: 8100 + r }],
          action: 'allow',
        });
    }
  }
  return { uplinkPort: 0, agents, groups: [], destinations: [], rules, sensitiveSources: ['10.20.0.0/16'] };
}

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const out = fn();
  return [out, (performance.now() - start) / 1000];
}

export async function benchCompiler(): Promise<BenchRow[]> {
  const profile = PROFILES.bmv2;
  const small = syntheticPolicy(1000);
  const large = syntheticPolicy(10000);
  compilePolicy(small, profile, { checkCapacity: false }); // warm-up
  const [, tSmall] = time(() => compilePolicy(small, profile, { checkCapacity: false }));
  const [compiled, tLarge] = time(() => compilePolicy(large, profile, { checkCapacity: false }));
  const rows: BenchRow[] = [
    {
      name: 'compile 10k agents x 10 rules (bmv2)',
      value: tLarge,
      unit: 's',
      goal: '<= 0.5 s',
      ratio: tLarge / 0.5,
    },
    { name: 'compile 1k agents x 10 rules (bmv2)', value: tSmall, unit: 's' },
    {
      name: 'compile scaling 1k -> 10k agents',
      value: tLarge / tSmall,
      unit: 'x',
      goal: '~10 (near-linear)',
      ratio: tLarge / tSmall / 10,
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

  const groupPolicy = syntheticGroupPolicy(10000);
  compilePolicy(syntheticGroupPolicy(1000), profile, { checkCapacity: false }); // warm-up
  const [, tGroupSmall] = time(() =>
    compilePolicy(syntheticGroupPolicy(1000), profile, { checkCapacity: false }),
  );
  const [, tGroup] = time(() => compilePolicy(groupPolicy, profile, { checkCapacity: false }));
  rows.push(
    {
      name: 'compile 10k agents, 10 shared rules per group of 100 (bmv2)',
      value: tGroup,
      unit: 's',
      goal: '<= 0.5 s',
      ratio: tGroup / 0.5,
    },
    {
      name: 'compile scaling 1k -> 10k agents (group rules)',
      value: tGroup / tGroupSmall,
      unit: 'x',
      goal: '~10 (near-linear)',
      ratio: tGroup / tGroupSmall / 10,
    },
  );

  // One rule of one agent changes (ports widened) against everything installed. The installed
  // entries have been planned before (as they would have been when they were applied); the new
  // compile's entries are fresh objects.
  const edited: PolicySet = {
    ...large,
    rules: large.rules.map((r, i) =>
      i === 5000 * 10 + 3 ? { ...r, ports: [{ protocol: 'TCP', port: 9000, endPort: 9100 }] } : r,
    ),
  };
  const installed = { entries: compiled.entries, meters: compiled.meters };
  planChange(installed, compiled, profile);
  const [next, tRecompile] = time(() =>
    compilePolicy(edited, profile, { checkCapacity: false, previous: compiled.allocation, reuse: compiled }),
  );
  const [plan, tPlan] = time(() => planChange(installed, next, profile));
  const fresh = compilePolicy(edited, profile, { checkCapacity: false });
  const [full, tFull] = time(() => planChange([], fresh, profile));
  rows.push(
    { name: 'recompile after one rule change (10k agents)', value: tRecompile, unit: 's' },
    { name: 'plan one rule change vs installed entries', value: tPlan * 1000, unit: 'ms' },
    { name: 'updates planned for the one rule change', value: planUpdates(plan).length, unit: 'updates' },
    { name: 'installed entries at the one rule change', value: compiled.entries.length, unit: 'entries' },
    { name: 'full plan from an empty device', value: tFull * 1000, unit: 'ms', ratio: tPlan / tFull },
    { name: 'updates in the full plan', value: planUpdates(full).length, unit: 'updates' },
  );
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
