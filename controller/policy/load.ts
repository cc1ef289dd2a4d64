// Loading a policy set: YAML files parsed with positions, validated against the published schema,
// merged, and checked for what a schema cannot express (references, uniqueness, address syntax,
// units, rules that can never match). Every problem found is reported, each at the file, line and
// column of the field it concerns; user mistakes never throw.
import * as fs from 'fs';
import * as path from 'path';
import {
  Document,
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  visit,
  Node as YamlNode,
} from 'yaml';
import { CPU_PORT } from '../pipeline/contract';
import {
  Family,
  formatAddress,
  formatMac,
  formatPrefix,
  parseAddress,
  parseCidr,
  parseMac,
  prefixContains,
  prefixSetContains,
} from './addr';
import { PolicyError, PolicyErrorCodeName, RelatedLocation, Severity } from './errors';
import { destinationChunks, portSpace, portSpaceContains } from './matchspace';
import {
  AgentDef,
  CidrSelector,
  DestinationDef,
  GroupDef,
  Mode,
  PolicySet,
  PortSelector,
  Protocol,
  Quota,
  RuleDef,
  SourceLocation,
  ruleAgentIndex,
  ruleHasDestinationSelector,
} from './model';
import { PathSegment, formatPath, schemaViolations } from './schema';
import { parseQuota, parseRate, parseSize } from './units';

export interface PolicySource {
  /** Shown in diagnostics and source locations. */
  readonly file: string;
  readonly text: string;
}

export interface LoadResult {
  /** Present when no diagnostic is an error. */
  readonly policySet?: PolicySet;
  /** Errors and warnings, ordered by file, line and column. */
  readonly diagnostics: PolicyError[];
}

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

class DocReader {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}

  /** Position of the node at `at` (its key when `atKey`), or of its nearest existing ancestor. */
  locate(at: readonly PathSegment[], atKey = false): SourceLocation {
    let node: unknown = this.doc.contents;
    let found: YamlNode | undefined =
      isMap(node) || isSeq(node) || isScalar(node) ? (node as YamlNode) : undefined;
    let keyNode: YamlNode | undefined;
    for (const segment of at) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
        if (!pair) break;
        keyNode = isScalar(pair.key) ? pair.key : undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment];
      } else break;
      if (node && typeof node === 'object' && 'range' in node && (node as YamlNode).range)
        found = node as YamlNode;
      else if (keyNode) found = keyNode;
    }
    const target = atKey && keyNode ? keyNode : found;
    const offset = target?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col };
  }
}

interface Located<T> {
  readonly reader: DocReader;
  readonly path: PathSegment[];
  readonly raw: T;
}

class Diagnostics {
  readonly list: PolicyError[] = [];
  private readonly schemaBad = new Set<string>();

  markSchema(reader: DocReader, at: readonly PathSegment[]): void {
    this.schemaBad.add(`${reader.file}\0${reader.doc.range?.[0] ?? 0}\0${formatPath(at)}`);
  }

  /** Whether the schema already reported this field or one that contains it. */
  private covered(reader: DocReader, at: readonly PathSegment[]): boolean {
    for (let i = at.length; i >= 0; i--) {
      if (this.schemaBad.has(`${reader.file}\0${reader.doc.range?.[0] ?? 0}\0${formatPath(at.slice(0, i))}`))
        return true;
    }
    return false;
  }

  report(
    code: PolicyErrorCodeName,
    reader: DocReader,
    at: readonly PathSegment[],
    detail: string,
    expected: string,
    options: { severity?: Severity; related?: RelatedLocation[]; atKey?: boolean } = {},
  ): void {
    if (this.covered(reader, at)) return;
    const loc = reader.locate(at, options.atKey);
    this.list.push(
      new PolicyError(
        code,
        loc.file,
        loc.line,
        loc.column,
        formatPath(at),
        detail,
        expected,
        options.severity ?? 'error',
        options.related ?? [],
      ),
    );
  }

  push(error: PolicyError): void {
    this.list.push(error);
  }
}

const fileLevel = (code: PolicyErrorCodeName, file: string, detail: string, expected: string): PolicyError =>
  new PolicyError(code, file, 1, 1, '', detail, expected);

/** Reads the given files, and every `*.yaml` / `*.yml` file directly inside the given directories. */
export function loadPolicySet(paths: string | readonly string[]): LoadResult {
  const sources: PolicySource[] = [];
  const errors: PolicyError[] = [];
  for (const given of typeof paths === 'string' ? [paths] : paths) {
    let files: string[];
    try {
      files = fs.statSync(given).isDirectory()
        ? fs
            .readdirSync(given)
            .filter((name) => /\.ya?ml$/.test(name))
            .sort()
            .map((name) => path.join(given, name))
        : [given];
    } catch (error) {
      errors.push(
        fileLevel(
          'FILE_READ',
          given,
          `cannot read: ${(error as Error).message}`,
          'a readable file or directory',
        ),
      );
      continue;
    }
    for (const file of files) {
      try {
        sources.push({ file, text: fs.readFileSync(file, 'utf8') });
      } catch (error) {
        errors.push(
          fileLevel('FILE_READ', file, `cannot read: ${(error as Error).message}`, 'a readable file'),
        );
      }
    }
  }
  if (errors.length > 0) return { diagnostics: errors };
  return loadPolicySources(sources);
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'ICMP', 'ANY'];

/** Loads a policy set from in-memory sources, merged in the order given. */
export function loadPolicySources(sources: readonly PolicySource[]): LoadResult {
  const diags = new Diagnostics();
  if (sources.length === 0) {
    diags.push(fileLevel('NO_POLICY_FILES', '.', 'no policy files were given', 'at least one .yaml file'));
    return { diagnostics: diags.list };
  }
  const uplinks: Located<Obj>[] = [];
  const agents: Located<unknown>[] = [];
  const groups: Located<unknown>[] = [];
  const destinations: Located<unknown>[] = [];
  const sensitive: Located<unknown>[] = [];
  const rules: Located<unknown>[] = [];

  for (const source of sources) {
    const lines = new LineCounter();
    const docs = parseAllDocuments(source.text, { lineCounter: lines, prettyErrors: false });
    for (const doc of Array.isArray(docs) ? docs : []) {
      const reader = new DocReader(source.file, doc, lines);
      if (doc.errors.length > 0) {
        for (const error of doc.errors) {
          const pos = lines.linePos(error.pos[0]);
          diags.push(
            new PolicyError(
              'YAML_SYNTAX',
              source.file,
              pos.line,
              pos.col,
              '',
              error.message.split('\n')[0],
              'well-formed YAML',
            ),
          );
        }
        continue;
      }
      // An alias whose anchor is missing (or comes later) parses but cannot be resolved: report it
      // where it stands, like any other YAML error, instead of letting toJS throw.
      let content: unknown;
      try {
        content = doc.toJS();
      } catch (err) {
        let offset = 0;
        visit(doc, {
          Alias(_, node) {
            if (node.resolve(doc) === undefined) {
              offset = node.range?.[0] ?? 0;
              return visit.BREAK;
            }
          },
        });
        const pos = lines.linePos(offset);
        diags.push(
          new PolicyError(
            'YAML_SYNTAX',
            source.file,
            pos.line,
            pos.col,
            '',
            (err as Error).message.split('\n')[0],
            'well-formed YAML (every alias *name needs an earlier &name anchor)',
          ),
        );
        continue;
      }
      if (content === null || content === undefined) continue;
      for (const violation of schemaViolations(content)) {
        const loc = reader.locate(violation.locatePath, violation.atKey);
        diags.push(
          new PolicyError(
            violation.code,
            loc.file,
            loc.line,
            loc.column,
            formatPath(violation.path),
            violation.detail,
            violation.expected,
          ),
        );
        diags.markSchema(reader, violation.path);
      }
      if (!isObj(content)) continue;
      const collect = (key: string, into: Located<unknown>[]) =>
        list(content[key]).forEach((raw, i) => into.push({ reader, path: [key, i], raw }));
      if (isObj(content.uplink)) uplinks.push({ reader, path: ['uplink'], raw: content.uplink });
      collect('agents', agents);
      collect('groups', groups);
      collect('destinations', destinations);
      collect('sensitiveSources', sensitive);
      collect('egress', rules);
    }
  }

  const builder = new SetBuilder(diags);
  const policySet = builder.build(sources[0].file, uplinks, agents, groups, destinations, sensitive, rules);
  const sorted = diags.list.sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
  const failed = sorted.some((d) => d.severity === 'error');
  return failed ? { diagnostics: sorted } : { policySet, diagnostics: sorted };
}

interface Named {
  readonly reader: DocReader;
  readonly path: PathSegment[];
}

class SetBuilder {
  private readonly agentNames = new Map<string, Named>();
  private readonly groupNames = new Map<string, Named>();
  private readonly destinationNames = new Map<string, Named>();
  private readonly ruleNames = new Map<string, Named>();

  constructor(private readonly diags: Diagnostics) {}

  private claimName(kind: string, names: Map<string, Named>, item: Located<unknown>, name: string): boolean {
    const first = names.get(name);
    if (first) {
      const loc = first.reader.locate([...first.path, 'name']);
      this.diags.report(
        'DUPLICATE_NAME',
        item.reader,
        [...item.path, 'name'],
        `${kind} "${name}" is defined twice`,
        `a unique ${kind} name`,
        {
          related: [{ ...loc, note: 'first defined' }],
        },
      );
      return false;
    }
    names.set(name, { reader: item.reader, path: item.path });
    return true;
  }

  private checkRefs(
    kind: string,
    names: Map<string, Named>,
    item: Located<unknown>,
    field: string,
    refs: readonly string[],
  ): void {
    refs.forEach((ref, i) => {
      if (!names.has(ref)) {
        const known = [...names.keys()];
        this.diags.report(
          'UNKNOWN_REFERENCE',
          item.reader,
          [...item.path, field, i],
          `no ${kind} is named "${ref}"`,
          known.length > 0
            ? `one of ${known.map((n) => `"${n}"`).join(', ')}`
            : `the name of a defined ${kind}`,
        );
      }
    });
  }

  private size(item: Located<unknown>, at: PathSegment[], value: unknown): number | undefined {
    const parsed = parseSize(value);
    if ('error' in parsed) {
      this.diags.report('BAD_QUANTITY', item.reader, at, parsed.error, parsed.expected);
      return undefined;
    }
    return parsed.value;
  }

  private quota(item: Located<unknown>, at: PathSegment[], value: unknown): Quota | undefined {
    const parsed = parseQuota(value);
    if ('error' in parsed) {
      this.diags.report('BAD_QUANTITY', item.reader, at, parsed.error, parsed.expected);
      return undefined;
    }
    return parsed.value;
  }

  private addresses(item: Located<unknown>, field: 'ipv4' | 'ipv6', raw: unknown): string[] {
    const family: Family = field === 'ipv4' ? 4 : 6;
    const out: string[] = [];
    list(raw).forEach((value, i) => {
      const parsed = typeof value === 'string' ? parseAddress(value, family) : null;
      if (!parsed) {
        this.diags.report(
          'BAD_ADDRESS',
          item.reader,
          [...item.path, field, i],
          `${JSON.stringify(value)} is not a valid IPv${family} address`,
          family === 4
            ? 'an IPv4 address in dotted-quad form, e.g. 10.0.1.10'
            : 'an IPv6 address, e.g. fd00:1::10',
        );
      } else out.push(formatAddress(family, parsed.value));
    });
    return out;
  }

  private cidr(item: Located<unknown>, at: PathSegment[], value: unknown): string | undefined {
    if (typeof value !== 'string') return undefined;
    const parsed = parseCidr(value);
    if ('error' in parsed) {
      this.diags.report('BAD_ADDRESS', item.reader, at, parsed.error, parsed.expected);
      return undefined;
    }
    return formatPrefix(parsed.prefix);
  }

  private selectors(item: Located<unknown>, obj: Obj): { cidrs: CidrSelector[]; fqdns: string[] } {
    const cidrs: CidrSelector[] = [];
    list(obj.toCIDR).forEach((value, i) => {
      const cidr = this.cidr(item, [...item.path, 'toCIDR', i], value);
      if (cidr) cidrs.push({ cidr, except: [] });
    });
    list(obj.toCIDRSet).forEach((set, i) => {
      if (!isObj(set)) return;
      const at = [...item.path, 'toCIDRSet', i];
      const cidr = this.cidr(item, [...at, 'cidr'], set.cidr);
      const except: string[] = [];
      list(set.except).forEach((value, j) => {
        const hole = this.cidr(item, [...at, 'except', j], value);
        if (!hole || !cidr) return;
        const outer = parseCidr(cidr);
        const inner = parseCidr(hole);
        if ('prefix' in outer && 'prefix' in inner && !prefixContains(outer.prefix, inner.prefix)) {
          this.diags.report(
            'BAD_EXCEPT',
            item.reader,
            [...at, 'except', j],
            `${hole} is not inside ${cidr}`,
            `a CIDR inside ${cidr}`,
          );
          return;
        }
        except.push(hole);
      });
      if (cidr) cidrs.push({ cidr, except });
    });
    const fqdns = list(obj.toFQDNs)
      .map((f) => (isObj(f) ? str(f.matchName) : undefined))
      .filter((n): n is string => n !== undefined)
      .map((n) => n.toLowerCase().replace(/\.$/, ''));
    return { cidrs, fqdns };
  }

  build(
    firstFile: string,
    uplinks: Located<Obj>[],
    agentItems: Located<unknown>[],
    groupItems: Located<unknown>[],
    destinationItems: Located<unknown>[],
    sensitiveItems: Located<unknown>[],
    ruleItems: Located<unknown>[],
  ): PolicySet {
    const diags = this.diags;
    // ---- uplink
    let uplinkPort = -1;
    // A file that does not parse may well hold the uplink: only say it is missing when all parsed.
    if (uplinks.length === 0 && !diags.list.some((d) => d.code === 'YAML_SYNTAX')) {
      diags.push(
        fileLevel(
          'UPLINK_MISSING',
          firstFile,
          'no file of the policy set declares the uplink',
          'an "uplink: {port: N}" in one file',
        ),
      );
    }
    uplinks.forEach((item, i) => {
      if (i > 0) {
        const first = uplinks[0].reader.locate(uplinks[0].path);
        diags.report(
          'UPLINK_DUPLICATE',
          item.reader,
          item.path,
          'the uplink is declared more than once',
          'one uplink declaration in the whole set',
          {
            related: [{ ...first, note: 'first declared' }],
            atKey: true,
          },
        );
        return;
      }
      if (Number.isInteger(item.raw.port)) uplinkPort = item.raw.port as number;
      if (uplinkPort === CPU_PORT) {
        diags.report(
          'RESERVED_PORT',
          item.reader,
          [...item.path, 'port'],
          `port ${CPU_PORT} is the CPU port`,
          `a port other than ${CPU_PORT}`,
        );
      }
    });

    // ---- agents
    const agents: AgentDef[] = [];
    const ports = new Map<number, Located<unknown>>();
    const macs = new Map<string, Located<unknown>>();
    for (const item of agentItems) {
      const raw = item.raw;
      if (!isObj(raw) || typeof raw.name !== 'string') continue;
      this.claimName('agent', this.agentNames, item, raw.name);
      const port = Number.isInteger(raw.port) ? (raw.port as number) : -1;
      if (port === CPU_PORT || (port >= 0 && port === uplinkPort)) {
        diags.report(
          'RESERVED_PORT',
          item.reader,
          [...item.path, 'port'],
          port === CPU_PORT ? `port ${CPU_PORT} is the CPU port` : `port ${port} is the uplink`,
          `a port other than ${CPU_PORT} and the uplink (${uplinkPort})`,
        );
      } else if (port >= 0) {
        const other = ports.get(port);
        if (other) {
          const loc = other.reader.locate([...other.path, 'port']);
          diags.report(
            'DUPLICATE_PORT',
            item.reader,
            [...item.path, 'port'],
            `port ${port} is already the port of agent "${(other.raw as Obj).name as string}"`,
            'one agent per port',
            {
              related: [{ ...loc, note: 'first used' }],
            },
          );
        } else ports.set(port, item);
      }
      const macValue = typeof raw.mac === 'string' ? parseMac(raw.mac) : null;
      const mac = macValue === null ? '' : formatMac(macValue);
      if (mac) {
        const other = macs.get(mac);
        if (other) {
          const loc = other.reader.locate([...other.path, 'mac']);
          diags.report(
            'DUPLICATE_SOURCE',
            item.reader,
            [...item.path, 'mac'],
            `MAC ${mac} is already the MAC of agent "${(other.raw as Obj).name as string}"`,
            'a MAC no other agent uses',
            {
              related: [{ ...loc, note: 'first used' }],
            },
          );
        } else macs.set(mac, item);
      }
      const ipv4 = this.addresses(item, 'ipv4', raw.ipv4);
      const ipv6 = this.addresses(item, 'ipv6', raw.ipv6);
      if (list(raw.ipv4).length === 0 && list(raw.ipv6).length === 0) {
        diags.report(
          'NO_SOURCE_ADDRESS',
          item.reader,
          item.path,
          `agent "${raw.name}" has no source address`,
          'at least one address in "ipv4" or "ipv6"',
        );
      }
      const threshold = isObj(raw.exfiltration)
        ? this.size(item, [...item.path, 'exfiltration', 'threshold'], raw.exfiltration.threshold)
        : undefined;
      agents.push({
        name: raw.name,
        port,
        mac,
        ipv4,
        ipv6,
        mode: (raw.mode === 'audit' ? 'audit' : 'enforce') as Mode,
        ...(threshold !== undefined ? { exfiltrationThreshold: threshold } : {}),
        location: item.reader.locate(item.path),
      });
    }

    // ---- groups
    const groups: GroupDef[] = [];
    for (const item of groupItems) {
      const raw = item.raw;
      if (!isObj(raw) || typeof raw.name !== 'string') continue;
      this.claimName('group', this.groupNames, item, raw.name);
      const members = list(raw.agents).filter((a): a is string => typeof a === 'string');
      this.checkRefs('agent', this.agentNames, item, 'agents', members);
      const threshold = isObj(raw.exfiltration)
        ? this.size(item, [...item.path, 'exfiltration', 'threshold'], raw.exfiltration.threshold)
        : undefined;
      groups.push({
        name: raw.name,
        agents: members,
        ...(threshold !== undefined ? { exfiltrationThreshold: threshold } : {}),
        location: item.reader.locate(item.path),
      });
    }

    // ---- destinations
    const destinations: DestinationDef[] = [];
    for (const item of destinationItems) {
      const raw = item.raw;
      if (!isObj(raw) || typeof raw.name !== 'string') continue;
      this.claimName('destination', this.destinationNames, item, raw.name);
      const { cidrs, fqdns } = this.selectors(item, raw);
      const quota =
        raw.quota !== undefined ? this.quota(item, [...item.path, 'quota'], raw.quota) : undefined;
      destinations.push({
        name: raw.name,
        cidrs,
        fqdns,
        sensitive: raw.sensitive === true,
        ...(quota ? { quota } : {}),
        location: item.reader.locate(item.path),
      });
    }
    const destinationByName = new Map(destinations.map((d) => [d.name, d]));

    const sensitiveSources: string[] = [];
    for (const item of sensitiveItems) {
      const cidr = this.cidr(item, item.path, item.raw);
      if (cidr) sensitiveSources.push(cidr);
    }

    // ---- rules
    const rules: RuleDef[] = [];
    const ruleItemByName = new Map<string, Located<unknown>>();
    for (const item of ruleItems) {
      const raw = item.raw;
      if (!isObj(raw) || typeof raw.name !== 'string') continue;
      if (this.claimName('rule', this.ruleNames, item, raw.name)) ruleItemByName.set(raw.name, item);
      const ruleAgentRefs = list(raw.agents).filter((a): a is string => typeof a === 'string');
      const ruleGroupRefs = list(raw.groups).filter((a): a is string => typeof a === 'string');
      const destinationRefs = list(raw.toDestinations).filter((a): a is string => typeof a === 'string');
      this.checkRefs('agent', this.agentNames, item, 'agents', ruleAgentRefs);
      this.checkRefs('group', this.groupNames, item, 'groups', ruleGroupRefs);
      this.checkRefs('destination', this.destinationNames, item, 'toDestinations', destinationRefs);
      if (ruleAgentRefs.length === 0 && ruleGroupRefs.length === 0) {
        diags.report(
          'RULE_WITHOUT_AGENTS',
          item.reader,
          item.path,
          `rule "${raw.name}" applies to no agent`,
          'an "agents" or "groups" list that is not empty',
        );
      }
      const action = raw.action === 'deny' ? 'deny' : 'allow';
      const { cidrs, fqdns } = this.selectors(item, raw);
      const ports = this.ports(item, raw);
      const quota =
        raw.quota !== undefined ? this.quota(item, [...item.path, 'quota'], raw.quota) : undefined;
      let rate: number | undefined;
      if (raw.rate !== undefined) {
        const parsed = parseRate(raw.rate);
        if ('error' in parsed)
          diags.report('BAD_QUANTITY', item.reader, [...item.path, 'rate'], parsed.error, parsed.expected);
        else rate = parsed.value;
      }
      if (action === 'deny') {
        for (const field of ['quota', 'rate'] as const) {
          if (raw[field] !== undefined) {
            diags.report(
              'LIMIT_ON_DENY',
              item.reader,
              [...item.path, field],
              `a deny rule cannot have a ${field}`,
              `no "${field}" on a deny rule, or action: allow`,
              { atKey: true },
            );
          }
        }
        if (fqdns.length > 0) {
          diags.report(
            'FQDN_ON_DENY',
            item.reader,
            [...item.path, 'toFQDNs'],
            'a deny rule cannot name destinations by DNS name',
            'toCIDR or toCIDRSet; DNS answers change and a deny must not have gaps',
            { atKey: true },
          );
        }
        destinationRefs.forEach((ref, i) => {
          if ((destinationByName.get(ref)?.fqdns.length ?? 0) > 0) {
            diags.report(
              'FQDN_ON_DENY',
              item.reader,
              [...item.path, 'toDestinations', i],
              `destination "${ref}" is named by DNS name and cannot be used in a deny rule`,
              'a destination given by CIDRs only',
            );
          }
        });
      }
      if (quota && action === 'allow') {
        destinationRefs.forEach((ref, i) => {
          if (destinationByName.get(ref)?.quota) {
            diags.report(
              'QUOTA_CONFLICT',
              item.reader,
              [...item.path, 'toDestinations', i],
              `destination "${ref}" has its own quota and so does this rule`,
              'a quota on the rule or on its destinations, not both',
            );
          }
        });
      }
      rules.push({
        name: raw.name,
        agents: ruleAgentRefs,
        groups: ruleGroupRefs,
        destinations: destinationRefs,
        cidrs,
        fqdns,
        ports,
        action,
        trusted: raw.trusted === true,
        mode: (raw.mode === 'audit' ? 'audit' : 'enforce') as Mode,
        ...(quota && action === 'allow' ? { quota } : {}),
        ...(rate !== undefined && action === 'allow' ? { rateBytesPerSecond: rate } : {}),
        location: item.reader.locate(item.path),
      });
    }

    const policySet: PolicySet = { uplinkPort, agents, groups, destinations, rules, sensitiveSources };
    if (!diags.list.some((d) => d.severity === 'error')) this.checkShadowing(policySet, ruleItemByName);
    return policySet;
  }

  private ports(item: Located<unknown>, raw: Obj): PortSelector[] {
    const out: PortSelector[] = [];
    list(raw.toPorts).forEach((group, g) => {
      if (!isObj(group)) return;
      list(group.ports).forEach((entry, p) => {
        if (!isObj(entry)) return;
        const at = [...item.path, 'toPorts', g, 'ports', p];
        const port =
          typeof entry.port === 'string'
            ? Number(entry.port)
            : typeof entry.port === 'number'
              ? entry.port
              : undefined;
        const endPort = typeof entry.endPort === 'number' ? entry.endPort : undefined;
        const protocol = PROTOCOLS.includes(entry.protocol as Protocol)
          ? (entry.protocol as Protocol)
          : port !== undefined
            ? 'TCP'
            : 'ANY';
        if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
          this.diags.report(
            'BAD_PORT_RANGE',
            item.reader,
            [...at, 'port'],
            `${String(entry.port)} is not a port number`,
            'a port from 1 to 65535',
          );
          return;
        }
        if (endPort !== undefined && port === undefined) {
          this.diags.report(
            'BAD_PORT_RANGE',
            item.reader,
            [...at, 'endPort'],
            '"endPort" without "port"',
            'a "port" that starts the range',
            { atKey: true },
          );
          return;
        }
        if (endPort !== undefined && port !== undefined && endPort < port) {
          this.diags.report(
            'BAD_PORT_RANGE',
            item.reader,
            [...at, 'endPort'],
            `the range ${port}-${endPort} ends before it starts`,
            `an endPort of at least ${port}`,
          );
          return;
        }
        if (protocol === 'ICMP' && port !== undefined) {
          this.diags.report(
            'BAD_PORT_RANGE',
            item.reader,
            [...at, 'port'],
            'ICMP has no ports',
            'no "port" with protocol ICMP',
            { atKey: true },
          );
          return;
        }
        out.push({
          protocol,
          ...(port !== undefined ? { port } : {}),
          ...(endPort !== undefined && endPort !== port ? { endPort } : {}),
        });
      });
    });
    return out;
  }

  /**
   * A rule is shadowed when an earlier rule applies to all of its agents and matches everything it
   * matches: it can never decide a packet. Names known only through DNS are not assumed covered.
   */
  private checkShadowing(policy: PolicySet, items: Map<string, Located<unknown>>): void {
    const destinations = new Map(policy.destinations.map((d) => [d.name, d]));
    const none = new Map();
    const index = ruleAgentIndex(policy);
    const spaces = policy.rules.map((rule, r) => {
      const chunks = destinationChunks(rule, destinations, none);
      const fqdnNamed =
        rule.fqdns.length > 0 || rule.destinations.some((d) => (destinations.get(d)?.fqdns.length ?? 0) > 0);
      return {
        rule,
        agents: new Set(index.agentsOfRule[r].map((i) => policy.agents[i].name)),
        v4: chunks.flatMap((c) => c.v4),
        v6: chunks.flatMap((c) => c.v6),
        fqdnNamed,
        ports: portSpace(rule.ports),
        everywhere: !ruleHasDestinationSelector(rule),
      };
    });
    // Only rules sharing an agent can shadow each other; indexing by agent keeps this near-linear.
    const byAgent = new Map<string, number[]>();
    spaces.forEach((space, i) =>
      space.agents.forEach((a) => {
        const indices = byAgent.get(a);
        if (indices) indices.push(i);
        else byAgent.set(a, [i]);
      }),
    );
    spaces.forEach((later, j) => {
      if (later.agents.size === 0) return;
      const firstAgent = [...later.agents][0];
      for (const i of byAgent.get(firstAgent) ?? []) {
        if (i >= j) break;
        const earlier = spaces[i];
        if (![...later.agents].every((a) => earlier.agents.has(a))) continue;
        if (!portSpaceContains(earlier.ports, later.ports)) continue;
        if (later.fqdnNamed && !earlier.everywhere) continue;
        if (!prefixSetContains(earlier.v4, later.v4) || !prefixSetContains(earlier.v6, later.v6)) continue;
        const item = items.get(later.rule.name);
        const earlierItem = items.get(earlier.rule.name);
        if (!item || !earlierItem) return;
        const loc = earlierItem.reader.locate(earlierItem.path);
        this.diags.report(
          'SHADOWED_RULE',
          item.reader,
          item.path,
          `rule "${later.rule.name}" never applies: rule "${earlier.rule.name}" (${loc.file}:${loc.line}:${loc.column}) comes first and matches everything it matches`,
          `rule "${later.rule.name}" before rule "${earlier.rule.name}", or a narrower "${earlier.rule.name}"`,
          { severity: 'warning', related: [{ ...loc, note: 'shadowed by' }] },
        );
        return;
      }
    });
  }
}
