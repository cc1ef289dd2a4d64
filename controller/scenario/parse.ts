// Scenario files: YAML read with positions, every field checked by hand so that each problem is
// reported at its own line and column with what was expected, and all problems in one pass. Names
// that point into the policy (agents, rules) are checked later by resolve.ts, once the policy is
// loaded; this module needs nothing but the file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Scalar } from 'yaml';
import { parseAddress, parseMac } from '../policy/addr';
import { parseDuration, parseRate, parseSize } from '../policy/units';
import { Reason, type ReasonName } from '../pipeline/contract';
import { ScenarioError, type ScenarioErrorCodeName } from './errors';
import {
  EXPECTATIONS,
  type AgentOverride,
  type Comparator,
  type Comparison,
  type CounterCheck,
  type Expectation,
  type FlowDef,
  type FlowExpectation,
  type FlowProtocol,
  type HostDef,
  type Scenario,
  type Step,
  type Topology,
} from './model';

export const API_VERSION = 'nicguard/v1';
export const DEFAULT_GATEWAY_MAC = '02:00:00:00:00:fe';
export const DEFAULT_MTU = 1500;

type PathSegment = string | number;

export function formatPath(at: readonly PathSegment[]): string {
  let out = '';
  for (const seg of at) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

export interface ParseResult {
  readonly scenario?: Scenario;
  readonly errors: readonly ScenarioError[];
  /** Position of a field, for problems found after parsing (unknown names). */
  readonly locate: (at: readonly PathSegment[]) => { line: number; column: number };
}

const SIZE = 'a byte size such as 1500, 10KiB or 50MiB';
const COMPARISON = "a count or size with an optional comparison, quoted: '>= 50MiB', '< 10', '~50MiB', 1024";
const REASONS = Object.keys(Reason)
  .filter((r) => r !== 'NONE')
  .join(', ');
const STEP_KINDS = ['send', 'spoof', 'expect-counter', 'advance'] as const;
const FLOW_CHECK_FIELDS = ['expect', 'reason', 'rule', 'forwardedBytes', 'replies'];

interface Entry {
  readonly key: Scalar;
  readonly value: YamlNode | null;
}

class Reader {
  readonly errors: ScenarioError[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  pos(node: YamlNode | null | undefined, fallback?: YamlNode | null): { line: number; column: number } {
    const offset = node?.range?.[0] ?? fallback?.range?.[0] ?? 0;
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  fail(
    code: ScenarioErrorCodeName,
    node: YamlNode | null | undefined,
    at: readonly PathSegment[],
    detail: string,
    expected: string,
    fallback?: YamlNode | null,
  ): undefined {
    const p = this.pos(node, fallback);
    this.errors.push(new ScenarioError(code, this.file, p.line, p.column, formatPath(at), detail, expected));
    return undefined;
  }

  /** A mapping's entries by key; unknown keys are reported at the key. */
  map(
    node: YamlNode | null,
    at: readonly PathSegment[],
    allowed: readonly string[],
    what: string,
  ): Map<string, Entry> | undefined {
    if (!isMap(node)) {
      return this.fail('TYPE', node, at, `${describe(node)} is not a mapping`, what);
    }
    const out = new Map<string, Entry>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key : undefined;
      const name = key === undefined ? undefined : String(key.value);
      if (key === undefined || name === undefined) {
        this.fail('TYPE', pair.key as YamlNode, at, 'a key is not a plain name', 'plain field names');
        continue;
      }
      if (!allowed.includes(name)) {
        this.fail(
          'UNKNOWN_FIELD',
          key,
          [...at, name],
          `unknown field "${name}"`,
          `one of ${allowed.join(', ')}`,
        );
        continue;
      }
      out.set(name, { key, value: (pair.value as YamlNode | null) ?? null });
    }
    return out;
  }

  required(
    fields: Map<string, Entry>,
    name: string,
    parent: YamlNode | null,
    at: readonly PathSegment[],
    expected: string,
  ): Entry | undefined {
    const entry = fields.get(name);
    if (!entry) this.fail('REQUIRED', parent, [...at, name], `missing required field "${name}"`, expected);
    return entry;
  }

  string(entry: Entry | undefined, at: readonly PathSegment[], expected: string): string | undefined {
    if (!entry) return undefined;
    const v = entry.value;
    if (isScalar(v) && typeof v.value === 'string' && v.value.trim() !== '') return v.value;
    return this.fail('TYPE', v, at, `${describe(v)} is not a non-empty string`, expected, entry.key);
  }

  integer(
    entry: Entry | undefined,
    at: readonly PathSegment[],
    min: number,
    max: number,
    expected: string,
  ): number | undefined {
    if (!entry) return undefined;
    const v = entry.value;
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value)) {
      return this.fail('TYPE', v, at, `${describe(v)} is not a whole number`, expected, entry.key);
    }
    if (v.value < min || v.value > max) {
      return this.fail('VALUE', v, at, `${v.value} is outside ${min}..${max}`, expected);
    }
    return v.value;
  }

  boolean(entry: Entry | undefined, at: readonly PathSegment[]): boolean | undefined {
    if (!entry) return undefined;
    const v = entry.value;
    if (isScalar(v) && typeof v.value === 'boolean') return v.value;
    return this.fail('TYPE', v, at, `${describe(v)} is not true or false`, 'true or false', entry.key);
  }

  oneOf<T extends string>(
    entry: Entry | undefined,
    at: readonly PathSegment[],
    choices: readonly T[],
  ): T | undefined {
    const text = this.string(entry, at, `one of ${choices.join(', ')}`);
    if (text === undefined) return undefined;
    if ((choices as readonly string[]).includes(text)) return text as T;
    return this.fail(
      'VALUE',
      entry!.value,
      at,
      `"${text}" is not allowed here`,
      `one of ${choices.join(', ')}`,
    );
  }

  /** Text scalars and numbers alike, for quantities such as `50MiB` or 1024. */
  quantityText(entry: Entry | undefined, at: readonly PathSegment[], expected: string): string | undefined {
    if (!entry) return undefined;
    const v = entry.value;
    if (isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number')) return String(v.value);
    return this.fail('TYPE', v, at, `${describe(v)} is not a quantity`, expected, entry.key);
  }

  size(entry: Entry | undefined, at: readonly PathSegment[]): number | undefined {
    const text = this.quantityText(entry, at, SIZE);
    if (text === undefined) return undefined;
    const parsed = parseSize(/^\d+$/.test(text) ? Number(text) : text);
    if ('error' in parsed) return this.fail('VALUE', entry!.value, at, parsed.error, SIZE);
    return parsed.value;
  }

  comparison(entry: Entry | undefined, at: readonly PathSegment[]): Comparison | undefined {
    const text = this.quantityText(entry, at, COMPARISON);
    if (text === undefined) return undefined;
    const parsed = parseComparison(text);
    if (!parsed) return this.fail('VALUE', entry!.value, at, `"${text}" is not a comparison`, COMPARISON);
    return parsed;
  }

  reason(entry: Entry | undefined, at: readonly PathSegment[]): ReasonName | undefined {
    const text = this.string(entry, at, `a drop reason: ${REASONS}`);
    if (text === undefined) return undefined;
    const name = text.toUpperCase().replace(/-/g, '_');
    if (name !== 'NONE' && name in Reason) return name as ReasonName;
    return this.fail('VALUE', entry!.value, at, `"${text}" is not a drop reason`, `one of ${REASONS}`);
  }

  mac(entry: Entry | undefined, at: readonly PathSegment[]): string | undefined {
    const text = this.string(entry, at, 'a MAC address such as 02:00:00:00:00:01');
    if (text === undefined) return undefined;
    if (parseMac(text) === null) {
      return this.fail(
        'VALUE',
        entry!.value,
        at,
        `"${text}" is not a MAC address`,
        'six colon-separated hex bytes',
      );
    }
    return text.toLowerCase();
  }

  address(entry: Entry | undefined, at: readonly PathSegment[], family?: 4 | 6): string | undefined {
    const what = family === undefined ? 'an IPv4 or IPv6 address' : `an IPv${family} address`;
    const text = this.string(entry, at, what);
    if (text === undefined) return undefined;
    const parsed = parseAddress(text);
    if (parsed === null || (family !== undefined && parsed.family !== family)) {
      return this.fail('VALUE', entry!.value, at, `"${text}" is not ${what}`, what);
    }
    return text;
  }
}

function describe(node: YamlNode | null | undefined): string {
  if (node === null || node === undefined) return 'an empty value';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'an empty value' : JSON.stringify(node.value);
  return 'this value';
}

/** `>= 50MiB`, `<10`, `~50MiB`, `== 3`, or a bare count or size meaning exactly that. */
export function parseComparison(text: string): Comparison | undefined {
  const match = /^\s*(>=|<=|==|=|>|<|~)?\s*([0-9][0-9.]*\s*[A-Za-z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const op: Comparator = match[1] === undefined || match[1] === '=' ? '==' : (match[1] as Comparator);
  const quantity = match[2].trim();
  let value: number;
  if (/^\d+$/.test(quantity)) value = Number(quantity);
  else {
    const parsed = parseSize(quantity);
    if ('error' in parsed) return undefined;
    value = parsed.value;
  }
  if (!Number.isSafeInteger(value)) return undefined;
  return { op, value, text: text.trim() };
}

function listOf(
  r: Reader,
  entry: Entry | undefined,
  at: readonly PathSegment[],
  what: string,
): (YamlNode | null)[] {
  if (!entry) return [];
  if (!isSeq(entry.value)) {
    r.fail('TYPE', entry.value, at, `${describe(entry.value)} is not a list`, what, entry.key);
    return [];
  }
  return entry.value.items as (YamlNode | null)[];
}

function parseTopology(r: Reader, entry: Entry | undefined): Topology {
  const at = ['topology'];
  const empty: Topology = { gatewayMac: DEFAULT_GATEWAY_MAC, hosts: [], agents: [] };
  if (!entry) return empty;
  const fields = r.map(
    entry.value,
    at,
    ['gatewayMac', 'hosts', 'agents'],
    'a mapping with gatewayMac, hosts, agents',
  );
  if (!fields) return empty;
  const gatewayMac = r.mac(fields.get('gatewayMac'), [...at, 'gatewayMac']) ?? DEFAULT_GATEWAY_MAC;
  const hosts: HostDef[] = [];
  const hostExpected = 'a list of hosts: {name, ipv4, ipv6}';
  listOf(r, fields.get('hosts'), [...at, 'hosts'], hostExpected).forEach((node, i) => {
    const hat = [...at, 'hosts', i];
    const h = r.map(node, hat, ['name', 'ipv4', 'ipv6'], 'a host: {name, ipv4, ipv6}');
    if (!h) return;
    const name = r.string(r.required(h, 'name', node, hat, 'a host name'), [...hat, 'name'], 'a host name');
    const ipv4 = r.address(h.get('ipv4'), [...hat, 'ipv4'], 4);
    const ipv6 = r.address(h.get('ipv6'), [...hat, 'ipv6'], 6);
    if (!h.has('ipv4') && !h.has('ipv6')) {
      r.fail('REQUIRED', node, [...hat, 'ipv4'], 'a host needs an address', 'ipv4, ipv6 or both');
    }
    if (name === undefined) return;
    if (hosts.some((x) => x.name === name)) {
      r.fail(
        'VALUE',
        h.get('name')!.value,
        [...hat, 'name'],
        `host "${name}" is defined twice`,
        'unique host names',
      );
      return;
    }
    hosts.push({ name, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) });
  });
  const agents: AgentOverride[] = [];
  listOf(r, fields.get('agents'), [...at, 'agents'], 'a list of agent placements').forEach((node, i) => {
    const aat = [...at, 'agents', i];
    const a = r.map(
      node,
      aat,
      ['name', 'port', 'mac', 'ipv4', 'ipv6'],
      'an agent: {name, port, mac, ipv4, ipv6}',
    );
    if (!a) return;
    const name = r.string(
      r.required(a, 'name', node, aat, 'the name of an agent of the policy'),
      [...aat, 'name'],
      'an agent name',
    );
    const port = r.integer(a.get('port'), [...aat, 'port'], 0, 511, 'a port number 0..511');
    const mac = r.mac(a.get('mac'), [...aat, 'mac']);
    const ipv4 = r.address(a.get('ipv4'), [...aat, 'ipv4'], 4);
    const ipv6 = r.address(a.get('ipv6'), [...aat, 'ipv6'], 6);
    if (name === undefined) return;
    agents.push({
      name,
      ...(port !== undefined ? { port } : {}),
      ...(mac ? { mac } : {}),
      ...(ipv4 ? { ipv4 } : {}),
      ...(ipv6 ? { ipv6 } : {}),
    });
  });
  return { gatewayMac, hosts, agents };
}

const FLOW_FIELDS = [
  'from',
  'to',
  'protocol',
  'port',
  'srcPort',
  'bytes',
  'replyBytes',
  'mtu',
  'family',
  'pace',
];
const SPOOF_FIELDS = [...FLOW_FIELDS, 'ingressPort', 'mac', 'ip'];

function parseFlow(r: Reader, entry: Entry, at: readonly PathSegment[], spoof: boolean): FlowDef | undefined {
  const f = r.map(
    entry.value,
    at,
    spoof ? SPOOF_FIELDS : FLOW_FIELDS,
    'a flow: {from, to, protocol, port, bytes, replyBytes, mtu}',
  );
  if (!f) return undefined;
  const node = entry.value;
  const from = r.string(
    r.required(f, 'from', node, at, 'the sending agent'),
    [...at, 'from'],
    'an agent name',
  );
  const to = r.string(
    r.required(f, 'to', node, at, 'a host name or an IP address'),
    [...at, 'to'],
    'a host name or address',
  );
  const protocol = f.has('protocol')
    ? r.oneOf<FlowProtocol>(f.get('protocol'), [...at, 'protocol'], ['tcp', 'udp', 'icmp'])
    : 'tcp';
  const port = r.integer(f.get('port'), [...at, 'port'], 0, 65535, 'a port number 0..65535');
  if (protocol === 'icmp' && f.has('port')) {
    r.fail('VALUE', f.get('port')!.key, [...at, 'port'], 'ICMP has no ports', 'no port with protocol icmp');
  } else if (protocol !== 'icmp' && protocol !== undefined && !f.has('port')) {
    r.fail(
      'REQUIRED',
      node,
      [...at, 'port'],
      `missing required field "port" for ${protocol}`,
      'the destination port',
    );
  }
  const srcPort = r.integer(f.get('srcPort'), [...at, 'srcPort'], 1, 65535, 'a port number 1..65535');
  const bytes = r.size(r.required(f, 'bytes', node, at, SIZE), [...at, 'bytes']);
  const replyBytes = r.size(f.get('replyBytes'), [...at, 'replyBytes']);
  const mtu = r.integer(f.get('mtu'), [...at, 'mtu'], 68, 9216, 'an MTU 68..9216') ?? DEFAULT_MTU;
  const family = r.integer(f.get('family'), [...at, 'family'], 4, 6, '4 or 6');
  if (family === 5)
    r.fail('VALUE', f.get('family')!.value, [...at, 'family'], '5 is not an IP version', '4 or 6');
  let paceBytesPerSecond: number | undefined;
  const pace = f.get('pace');
  if (pace) {
    const text = r.quantityText(pace, [...at, 'pace'], 'a rate such as 20Mbit or 4MB/s');
    const parsed = text === undefined ? undefined : parseRate(text);
    if (parsed && 'error' in parsed)
      r.fail('VALUE', pace.value, [...at, 'pace'], parsed.error, parsed.expected);
    else if (parsed) paceBytesPerSecond = parsed.value;
  }
  const ingressPort = r.integer(f.get('ingressPort'), [...at, 'ingressPort'], 0, 511, 'a port number 0..511');
  const mac = r.mac(f.get('mac'), [...at, 'mac']);
  const ip = r.address(f.get('ip'), [...at, 'ip']);
  if (spoof && !f.has('ingressPort') && !f.has('mac') && !f.has('ip')) {
    r.fail(
      'REQUIRED',
      node,
      [...at, 'mac'],
      'a spoof changes nothing',
      'at least one of ingressPort, mac, ip',
    );
  }
  if (from === undefined || to === undefined || protocol === undefined || bytes === undefined)
    return undefined;
  return {
    from,
    to,
    protocol,
    ...(port !== undefined && protocol !== 'icmp' ? { port } : {}),
    ...(srcPort !== undefined ? { srcPort } : {}),
    bytes,
    ...(replyBytes !== undefined ? { replyBytes } : {}),
    mtu,
    ...(family === 4 || family === 6 ? { family } : {}),
    ...(paceBytesPerSecond !== undefined ? { paceBytesPerSecond } : {}),
    ...(ingressPort !== undefined ? { ingressPort } : {}),
    ...(mac ? { mac } : {}),
    ...(ip ? { ip } : {}),
  };
}

function parseCounter(r: Reader, entry: Entry, at: readonly PathSegment[]): CounterCheck | undefined {
  const fields = ['rule', 'agent', 'drops', 'audits', 'packets', 'bytes', 'tainted', 'sensitiveBytes'];
  const c = r.map(
    entry.value,
    at,
    fields,
    'a counter check: {rule, packets, bytes} or {agent, tainted} or {drops, packets}',
  );
  if (!c) return undefined;
  const node = entry.value;
  const packets = r.comparison(c.get('packets'), [...at, 'packets']);
  const bytes = r.comparison(c.get('bytes'), [...at, 'bytes']);
  const subjects = ['rule', 'drops', 'audits'].filter((s) => c.has(s));
  if (subjects.length > 1) {
    return r.fail(
      'VALUE',
      c.get(subjects[1])!.key,
      [...at, subjects[1]],
      `"${subjects[0]}" and "${subjects[1]}" cannot be checked in one step`,
      'one of rule, drops, audits or agent per step',
    );
  }
  const needAmount = (what: string) => {
    if (!c.has('packets') && !c.has('bytes'))
      r.fail(
        'REQUIRED',
        node,
        [...at, 'packets'],
        `a ${what} check needs an amount`,
        'packets, bytes or both',
      );
  };
  const noneOf = (names: string[], why: string) => {
    for (const n of names)
      if (c.has(n))
        r.fail(
          'UNKNOWN_FIELD',
          c.get(n)!.key,
          [...at, n],
          `"${n}" does not apply to ${why}`,
          'only the fields of that check',
        );
  };
  if (c.has('rule')) {
    const rule = r.string(c.get('rule'), [...at, 'rule'], 'a rule name');
    const agent = r.string(c.get('agent'), [...at, 'agent'], 'an agent name');
    needAmount('rule counter');
    noneOf(['tainted', 'sensitiveBytes'], 'a rule counter');
    if (rule === undefined) return undefined;
    return {
      kind: 'rule',
      rule,
      ...(agent ? { agent } : {}),
      ...(packets ? { packets } : {}),
      ...(bytes ? { bytes } : {}),
    };
  }
  for (const kind of ['drops', 'audits'] as const) {
    if (!c.has(kind)) continue;
    const reason = r.reason(c.get(kind), [...at, kind]);
    needAmount(`${kind} counter`);
    noneOf(['agent', 'tainted', 'sensitiveBytes'], `the ${kind} counter`);
    if (reason === undefined) return undefined;
    return { kind, reason, ...(packets ? { packets } : {}), ...(bytes ? { bytes } : {}) };
  }
  if (c.has('agent')) {
    const agent = r.string(c.get('agent'), [...at, 'agent'], 'an agent name');
    const tainted = r.boolean(c.get('tainted'), [...at, 'tainted']);
    const sensitiveBytes = r.comparison(c.get('sensitiveBytes'), [...at, 'sensitiveBytes']);
    if (!c.has('tainted') && !c.has('sensitiveBytes')) {
      r.fail(
        'REQUIRED',
        node,
        [...at, 'tainted'],
        'an agent check needs tainted or sensitiveBytes',
        'tainted: true|false, sensitiveBytes or both',
      );
    }
    noneOf(['packets', 'bytes'], 'an agent check');
    if (agent === undefined) return undefined;
    return {
      kind: 'taint',
      agent,
      ...(tainted !== undefined ? { tainted } : {}),
      ...(sensitiveBytes ? { sensitiveBytes } : {}),
    };
  }
  return r.fail('REQUIRED', node, [...at, 'rule'], 'nothing to check', 'one of rule, drops, audits or agent');
}

type UnnamedStep = Step extends infer S ? (S extends Step ? Omit<S, 'name'> : never) : never;

function defaultName(step: UnnamedStep): string {
  switch (step.kind) {
    case 'send':
    case 'spoof': {
      const f = step.flow;
      const what = f.protocol === 'icmp' ? 'icmp' : `${f.protocol}/${f.port}`;
      return `${step.kind} ${f.from} → ${f.to} ${what} ${f.bytes} B: ${step.check.expect}`;
    }
    case 'expect-counter': {
      const c = step.counter;
      if (c.kind === 'rule') return `rule ${c.rule} counter`;
      if (c.kind === 'taint') return `agent ${c.agent} taint`;
      return `${c.kind} ${c.reason}`;
    }
    case 'advance':
      return `advance ${step.text}`;
  }
}

function parseStep(r: Reader, node: YamlNode | null, index: number): Step | undefined {
  const at: PathSegment[] = ['steps', index];
  const s = r.map(
    node,
    at,
    ['name', ...STEP_KINDS, ...FLOW_CHECK_FIELDS],
    `a step with one of ${STEP_KINDS.join(', ')}`,
  );
  if (!s) return undefined;
  const kinds = STEP_KINDS.filter((k) => s.has(k));
  if (kinds.length !== 1) {
    const detail =
      kinds.length === 0 ? 'a step must do something' : `a step does one thing, not ${kinds.join(' and ')}`;
    return r.fail(
      'STEP_KIND',
      kinds.length > 1 ? s.get(kinds[1])!.key : node,
      at,
      detail,
      `exactly one of ${STEP_KINDS.join(', ')}`,
    );
  }
  const kind = kinds[0];
  const name = r.string(s.get('name'), [...at, 'name'], 'a step name');
  const line = r.pos(node).line;
  const flowStep = kind === 'send' || kind === 'spoof';
  if (!flowStep) {
    for (const extra of FLOW_CHECK_FIELDS) {
      if (s.has(extra))
        r.fail(
          'UNKNOWN_FIELD',
          s.get(extra)!.key,
          [...at, extra],
          `"${extra}" belongs to send and spoof steps`,
          `no ${extra} on a ${kind} step`,
        );
    }
  }
  let step: UnnamedStep;
  if (flowStep) {
    const flow = parseFlow(r, s.get(kind)!, [...at, kind], kind === 'spoof');
    const expectEntry =
      kind === 'spoof' && !s.has('expect')
        ? undefined
        : r.required(s, 'expect', node, at, `one of ${EXPECTATIONS.join(', ')}`);
    const expect: Expectation | undefined = expectEntry
      ? r.oneOf(expectEntry, [...at, 'expect'], EXPECTATIONS)
      : 'spoofed';
    const reason = r.reason(s.get('reason'), [...at, 'reason']);
    const rule = r.string(s.get('rule'), [...at, 'rule'], 'a rule name');
    const forwardedBytes = r.comparison(s.get('forwardedBytes'), [...at, 'forwardedBytes']);
    const replies = r.oneOf(s.get('replies'), [...at, 'replies'], ['delivered', 'dropped'] as const);
    if (s.has('replies') && flow && flow.replyBytes === undefined) {
      r.fail(
        'VALUE',
        s.get('replies')!.key,
        [...at, 'replies'],
        'the flow sends no replies',
        'replyBytes in the flow, or no replies check',
      );
    }
    if (!flow || !expect) return undefined;
    const check: FlowExpectation = {
      expect,
      ...(reason ? { reason } : {}),
      ...(rule ? { rule } : {}),
      ...(forwardedBytes ? { forwardedBytes } : {}),
      ...(replies ? { replies } : {}),
    };
    step = { kind, index, line, flow, check };
  } else if (kind === 'expect-counter') {
    const counter = parseCounter(r, s.get(kind)!, [...at, kind]);
    if (!counter) return undefined;
    step = { kind, index, line, counter };
  } else {
    const entry = s.get(kind)!;
    const text = r.quantityText(entry, [...at, kind], 'a duration such as 90s, 30m or 1h');
    if (text === undefined) return undefined;
    const parsed = parseDuration(text);
    if ('error' in parsed) return r.fail('VALUE', entry.value, [...at, kind], parsed.error, parsed.expected);
    step = { kind, index, line, seconds: parsed.value, text };
  }
  return { ...step, name: name ?? defaultName(step) } as Step;
}

/** Parses scenario text; `file` names it in errors and anchors relative policy paths. */
export function parseScenarioText(file: string, text: string): ParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const r = new Reader(file, lines);
  const locate = (at: readonly PathSegment[]) => {
    let node: unknown = doc.contents;
    let found = node as YamlNode | null;
    for (const seg of at) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
        if (!pair) break;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) node = node.items[seg];
      else break;
      found = node as YamlNode;
    }
    return r.pos(found);
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const p = lines.linePos(e.pos[0]);
      r.errors.push(
        new ScenarioError(
          'YAML_SYNTAX',
          file,
          p.line,
          p.col,
          '',
          e.message.split('\n')[0],
          'well-formed YAML',
        ),
      );
    }
    return { errors: r.errors, locate };
  }
  const root = doc.contents as YamlNode | null;
  const top = r.map(
    root,
    [],
    ['apiVersion', 'kind', 'name', 'description', 'policy', 'topology', 'steps'],
    'a scenario: a mapping with policy, topology and steps',
  );
  if (!top) return { errors: r.errors, locate };
  const apiVersion = top.get('apiVersion');
  if (apiVersion) r.oneOf(apiVersion, ['apiVersion'], [API_VERSION]);
  const kindEntry = top.get('kind');
  if (kindEntry) r.oneOf(kindEntry, ['kind'], ['Scenario']);
  const name = r.string(top.get('name'), ['name'], 'a scenario name');
  const description = r.string(top.get('description'), ['description'], 'a description');

  const policyEntry = r.required(
    top,
    'policy',
    root,
    [],
    'a policy file, or a list of them, relative to this file',
  );
  const policyFiles: string[] = [];
  if (policyEntry) {
    const items = isSeq(policyEntry.value)
      ? (policyEntry.value.items as (YamlNode | null)[])
      : [policyEntry.value];
    if (items.length === 0)
      r.fail('VALUE', policyEntry.value, ['policy'], 'no policy files', 'at least one policy file');
    items.forEach((item, i) => {
      const at = isSeq(policyEntry.value) ? ['policy', i] : ['policy'];
      const p = r.string({ key: policyEntry.key, value: item }, at, 'a policy file path');
      if (p !== undefined) policyFiles.push(path.resolve(path.dirname(path.resolve(file)), p));
    });
  }
  const topology = parseTopology(r, top.get('topology'));

  const stepsEntry = r.required(top, 'steps', root, [], 'a list of steps');
  const steps: Step[] = [];
  if (stepsEntry) {
    const items = listOf(r, stepsEntry, ['steps'], 'a list of steps');
    if (isSeq(stepsEntry.value) && items.length === 0) {
      r.fail('VALUE', stepsEntry.value, ['steps'], 'no steps', 'at least one step');
    }
    items.forEach((node, i) => {
      const step = parseStep(r, node, i);
      if (step) steps.push(step);
    });
  }
  if (r.errors.length > 0) return { errors: sortErrors(r.errors), locate };
  const scenario: Scenario = {
    file,
    name: name ?? path.basename(file).replace(/\.ya?ml$/, ''),
    ...(description ? { description } : {}),
    policyFiles,
    topology,
    steps,
  };
  return { scenario, errors: [], locate };
}

function sortErrors(errors: ScenarioError[]): ScenarioError[] {
  return errors.sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));
}

/** Reads and parses one scenario file. */
export function parseScenarioFile(file: string): ParseResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return {
      errors: [
        new ScenarioError(
          'FILE_READ',
          file,
          1,
          1,
          '',
          `cannot read: ${(err as Error).message}`,
          'a readable scenario file',
        ),
      ],
      locate: () => ({ line: 1, column: 1 }),
    };
  }
  return parseScenarioText(file, text);
}
