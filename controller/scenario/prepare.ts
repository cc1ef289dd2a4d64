// From a scenario file to something runnable: the file parsed, its policy loaded and compiled for
// the target's profile, and every name the steps use looked up in the policy and the topology.
// Problems at this stage are the tester's to fix and are reported with positions; nothing here
// touches a device.

import { compilePolicy, CompileError, type CompiledPolicy } from '../compiler/compile';
import { parseAddress } from '../policy/addr';
import { loadPolicySet } from '../policy/load';
import type { PolicySet } from '../policy/model';
import type { TargetProfile } from '../pipeline/profiles';
import { ScenarioError, type ScenarioErrorCodeName } from './errors';
import type { FlowDef, Scenario } from './model';
import { formatPath, parseScenarioFile, type ParseResult } from './parse';

/** Where an agent sits, after topology overrides. */
export interface AgentPlace {
  readonly name: string;
  readonly port: number;
  readonly mac: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly agentId: number;
}

/** A flow with its addresses settled. */
export interface ResolvedFlow {
  readonly agent: AgentPlace;
  readonly ingressPort: number;
  readonly srcMac: string;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly family: 4 | 6;
}

export interface PreparedScenario {
  readonly scenario: Scenario;
  readonly policySet: PolicySet;
  readonly compiled: CompiledPolicy;
  /** The profile the policy was compiled for; the device must run it. */
  readonly profile: TargetProfile;
  /** How often (seconds) the controller reads counters to enforce quotas, where it does. */
  readonly counterPollSeconds: number;
  readonly agents: ReadonlyMap<string, AgentPlace>;
  /** By step index, for send and spoof steps. */
  readonly flows: ReadonlyMap<number, ResolvedFlow>;
}

export type PrepareResult =
  | { readonly ok: true; readonly prepared: PreparedScenario }
  | { readonly ok: false; readonly errors: readonly ScenarioError[] };

type PathSegment = string | number;

export interface PrepareOptions {
  /** Counter poll interval of controller-enforced quotas (compiler option); 1 s by default. */
  readonly counterPollSeconds?: number;
}

export function prepareScenario(
  file: string,
  profile: TargetProfile,
  options: PrepareOptions = {},
): PrepareResult {
  const parsed = parseScenarioFile(file);
  if (!parsed.scenario) return { ok: false, errors: parsed.errors };
  return prepareParsed(parsed, profile, options);
}

export function prepareParsed(
  parsed: ParseResult,
  profile: TargetProfile,
  options: PrepareOptions = {},
): PrepareResult {
  const counterPollSeconds = options.counterPollSeconds ?? 1;
  const scenario = parsed.scenario!;
  const errors: ScenarioError[] = [];
  const fail = (
    code: ScenarioErrorCodeName,
    at: readonly PathSegment[],
    detail: string,
    expected: string,
  ) => {
    const p = parsed.locate(at);
    errors.push(new ScenarioError(code, scenario.file, p.line, p.column, formatPath(at), detail, expected));
  };

  const { policySet, diagnostics } = loadPolicySet(scenario.policyFiles);
  const policyErrors = diagnostics.filter((d) => d.severity === 'error');
  if (!policySet || policyErrors.length > 0) {
    for (const d of policyErrors) {
      errors.push(new ScenarioError('POLICY', d.file, d.line, d.column, d.path, d.message, d.expected));
    }
    if (errors.length === 0) fail('POLICY', ['policy'], 'the policy did not load', 'a valid policy');
    return { ok: false, errors };
  }
  let compiled: CompiledPolicy;
  try {
    compiled = compilePolicy(policySet, profile, { counterPollSeconds });
  } catch (err) {
    if (!(err instanceof CompileError)) throw err;
    fail(
      'POLICY',
      ['policy'],
      `the policy does not compile for ${profile.name}: ${err.message}`,
      'a policy that fits the target',
    );
    return { ok: false, errors };
  }

  const agentIds = new Map(compiled.agents.map((a) => [a.name, a.agentId]));
  const agents = new Map<string, AgentPlace>();
  for (const a of policySet.agents) {
    agents.set(a.name, {
      name: a.name,
      port: a.port,
      mac: a.mac,
      ...(a.ipv4[0] ? { ipv4: a.ipv4[0] } : {}),
      ...(a.ipv6[0] ? { ipv6: a.ipv6[0] } : {}),
      agentId: agentIds.get(a.name) ?? 0,
    });
  }
  const agentNames = [...agents.keys()].join(', ') || 'none';
  scenario.topology.agents.forEach((o, i) => {
    const base = agents.get(o.name);
    if (!base) {
      fail(
        'UNKNOWN_REFERENCE',
        ['topology', 'agents', i, 'name'],
        `no agent "${o.name}" in the policy`,
        `one of ${agentNames}`,
      );
      return;
    }
    agents.set(o.name, { ...base, ...o });
  });

  const ruleNames = new Set(policySet.rules.map((r) => r.name));
  const rulesList = [...ruleNames].join(', ') || 'none';
  const hosts = new Map(scenario.topology.hosts.map((h) => [h.name, h]));
  const flows = new Map<number, ResolvedFlow>();
  const checkRule = (name: string | undefined, at: readonly PathSegment[]) => {
    if (name !== undefined && !ruleNames.has(name)) {
      fail('UNKNOWN_REFERENCE', at, `no rule "${name}" in the policy`, `one of ${rulesList}`);
    }
  };
  const checkAgent = (name: string | undefined, at: readonly PathSegment[]) => {
    if (name !== undefined && !agents.has(name)) {
      fail('UNKNOWN_REFERENCE', at, `no agent "${name}" in the policy`, `one of ${agentNames}`);
    }
  };

  for (const step of scenario.steps) {
    const at: PathSegment[] = ['steps', step.index];
    if (step.kind === 'send' || step.kind === 'spoof') {
      checkRule(step.check.rule, [...at, 'rule']);
      const flow = resolveFlow(step.flow, agents, hosts, [...at, step.kind], fail, agentNames);
      if (flow) flows.set(step.index, flow);
    } else if (step.kind === 'expect-counter') {
      const c = step.counter;
      if (c.kind === 'rule') {
        checkRule(c.rule, [...at, 'expect-counter', 'rule']);
        checkAgent(c.agent, [...at, 'expect-counter', 'agent']);
      } else if (c.kind === 'taint') {
        checkAgent(c.agent, [...at, 'expect-counter', 'agent']);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    prepared: { scenario, policySet, compiled, profile, counterPollSeconds, agents, flows },
  };
}

function resolveFlow(
  flow: FlowDef,
  agents: ReadonlyMap<string, AgentPlace>,
  hosts: ReadonlyMap<string, { name: string; ipv4?: string; ipv6?: string }>,
  at: readonly PathSegment[],
  fail: (code: ScenarioErrorCodeName, at: readonly PathSegment[], detail: string, expected: string) => void,
  agentNames: string,
): ResolvedFlow | undefined {
  const agent = agents.get(flow.from);
  if (!agent) {
    fail(
      'UNKNOWN_REFERENCE',
      [...at, 'from'],
      `no agent "${flow.from}" in the policy`,
      `one of ${agentNames}`,
    );
    return undefined;
  }
  const host = hosts.get(flow.to);
  const literal = host ? null : parseAddress(flow.to);
  if (!host && literal === null) {
    const names = [...hosts.keys()].join(', ') || 'none defined';
    fail(
      'UNKNOWN_REFERENCE',
      [...at, 'to'],
      `"${flow.to}" is neither a host of the topology nor an IP address`,
      `a host name (${names}) or an address`,
    );
    return undefined;
  }
  const offered: (4 | 6)[] = host
    ? [...(host.ipv4 ? [4 as const] : []), ...(host.ipv6 ? [6 as const] : [])]
    : [literal!.family as 4 | 6];
  const spoofFamily = flow.ip !== undefined ? (parseAddress(flow.ip)!.family as 4 | 6) : undefined;
  let family: 4 | 6 | undefined = flow.family ?? spoofFamily;
  if (family === undefined) {
    const agentFamilies = [...(agent.ipv4 ? [4 as const] : []), ...(agent.ipv6 ? [6 as const] : [])];
    family = offered.find((f) => agentFamilies.includes(f)) ?? offered[0];
  }
  if (!offered.includes(family)) {
    fail(
      'VALUE',
      [...at, flow.family !== undefined ? 'family' : 'to'],
      `"${flow.to}" has no IPv${family} address`,
      `a destination with an IPv${family} address`,
    );
    return undefined;
  }
  const srcIp = flow.ip ?? (family === 4 ? agent.ipv4 : agent.ipv6);
  if (srcIp === undefined) {
    fail(
      'VALUE',
      [...at, 'from'],
      `agent "${agent.name}" has no IPv${family} address to send from`,
      `an IPv${family} address for the agent in the policy or topology.agents, or spoof with ip`,
    );
    return undefined;
  }
  if (spoofFamily !== undefined && spoofFamily !== family) {
    fail(
      'VALUE',
      [...at, 'ip'],
      `source ${flow.ip} and the destination differ in family`,
      `an IPv${family} source`,
    );
    return undefined;
  }
  const dstIp = host ? (family === 4 ? host.ipv4! : host.ipv6!) : flow.to;
  return {
    agent,
    ingressPort: flow.ingressPort ?? agent.port,
    srcMac: flow.mac ?? agent.mac,
    srcIp,
    dstIp,
    family,
  };
}
