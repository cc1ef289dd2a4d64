// The softnic's data plane: p4/nicguard.p4 executed over the entries and externs of a
// PipelineState, control by control, with bmv2 simple_switch's semantics wherever the language
// leaves a choice to the target. It reads only what a P4Runtime client wrote (tables, meter
// configurations, registers) and the program itself; it never sees policy or the compiler, so a
// scenario that compares the two checks something real.
//
// Data-plane effects land in the same PipelineState the P4Runtime server reads: direct and indexed
// counters, registers, meter buckets, digests and PacketIns. A counter read over P4Runtime after
// traffic therefore shows what the packets did.
//
// bmv2 behaviours reproduced (sources are p4lang/behavioral-model unless noted):
//   * packet_length is the ingress length: the whole frame as received, the 2-byte packet_out
//     header included for frames injected by PacketOut (counters.h increment_counter, meters.cpp).
//   * direct counters count packets and bytes on a hit only; a miss counts nothing, the default
//     entry has no counter in bmv2 (match_units.cpp MatchUnitAbstract::lookup; PI refuses direct
//     counter access to default entries, PI/src/pi_counter_imp.cpp).
//   * ternary/range priority and tie-breaking: see tables.ts.
//   * meters: see meter.ts; the array's time origin is when the pipeline was loaded (Meter's
//     time_init), here the model's construction.
//   * out-of-range indices on counters, registers and meters (possible: sensitive_rx_bytes has 4096
//     cells and agent_id is 16 bits; rate_meter has 4096 and meter_index is 16 bits) do nothing and
//     leave the destination untouched, as simple_switch's primitives do in their default build
//     (targets/simple_switch/primitives.cpp count / register_read / register_write /
//     execute_meter); untouched locals read as zero, bmv2 zeroing metadata per packet.
//   * digest data: bmv2 samples the learn list after ingress (simple_switch.cpp, learn after the
//     pipeline); nothing the digest reads changes after the digest call in this program, so the
//     values are those at the call. The digest receiver de-duplicates (bmv2's LearnEngine filter),
//     not the model.
//   * egress_spec 511 is bmv2's drop port; a frame sent to the CPU port goes to the controller as a
//     PacketIn whose metadata is the first bytes of the deparsed frame (the packet_in header when
//     the program set it valid).

import { contractProblems } from '../pipeline/check';
import {
  ACTIONS,
  AgentFlag,
  COUNTERS,
  CPU_PORT,
  DIGESTS,
  FIRST_POLICY_REASON,
  METERS,
  PACKET_METADATA,
  Reason,
  REGISTERS,
  RuleFlag,
  TABLES,
  reasonName,
  type ReasonName,
} from '../pipeline/contract';
import { Color, executeMeter, microsSince } from './meter';
import { PacketModelError } from './model-error';
import { PACKET_OUT_BYTES, ParsedFrame, parseFrame, wordsToBigInt } from './parser';
import type { CounterCell, MeterCell, PipelineState, StoredEntry, TableState } from './state';
import { ExactIndex, LpmIndex, PartitionedPriorityIndex } from './tables';

export { PacketModelError } from './model-error';

export type Role = 'unknown' | 'agent' | 'uplink';

/** The controller-bound copy of a frame: what PI turns into a PacketIn (P4Runtime §16.1). */
export interface PacketInOutput {
  /** The deparsed frame without the packet_in header. */
  payload: Buffer;
  /** packet_in header fields by ControllerPacketMetadata id. */
  metadata: ReadonlyMap<number, bigint>;
}

export interface Verdict {
  /** The pipeline sends the frame out of `egressPort` (in report mode: would have). */
  forwarded: boolean;
  egressPort?: number;
  /** Why the frame was dropped, or with `audited` why it would have been; NONE when allowed. */
  reason: ReasonName | 'UNKNOWN';
  reasonCode: number;
  /** The ACL rule that decided, 0 when none did. */
  ruleId: number;
  /** The agent the frame came from (agent port) or is delivered to (uplink); 0 when unknown. */
  agentId: number;
  /** A policy drop forwarded anyway because the agent or the rule is in audit mode. */
  audited: boolean;
  role: Role;
  /** The ingress port the pipeline saw: the packet_out header's for a PacketOut. */
  inPort: number;
  /** Set by a packet_out header with report = 1: the frame went to the controller, not the wire. */
  report: boolean;
  /** Bytes the frame counted as (bmv2 packet_length). */
  packetLength: number;
  /** Present when the frame goes to the CPU port. */
  packetIn?: PacketInOutput;
}

export interface PacketModelOptions {
  /** Monotonic nanoseconds; meters read it. Defaults to process.hrtime.bigint. */
  clock?: () => bigint;
}

const REASON_NAMES: readonly (ReasonName | 'UNKNOWN')[] = Array.from({ length: 256 }, (_, code) =>
  reasonName(code),
);

const ROLE_UNKNOWN = 0;
const ROLE_AGENT = 1;
const ROLE_UPLINK = 2;
const ROLES: readonly Role[] = ['unknown', 'agent', 'uplink'];

const VERDICT_NONE = 0;
const VERDICT_ALLOW = 1;
const VERDICT_DROP = 2;

const ETHERTYPE_ARP = 0x0806;
/** bmv2's drop port for 9-bit ports (mark_to_drop writes it to egress_spec). */
const DROP_PORT = 511;
const PACKET_IN_BYTES = 8;
const U64 = 64;

// What each action of the program does to local_metadata_t, by kind.
const Kind = {
  NO_OP: 0,
  AGENT_PORT: 1,
  UPLINK_PORT: 2,
  UNKNOWN_PORT: 3,
  ALLOW: 4,
  ALLOW_QUOTA: 5,
  ALLOW_RATE: 6,
  DENY: 7,
  NO_MATCH: 8,
  TO_HOST: 9,
  NO_ROUTE: 10,
  SET_WINDOW: 11,
} as const;

/** An action with its parameters decoded once, when the entry is indexed. */
interface ActionCall {
  readonly kind: number;
  readonly agentId: number;
  readonly uplinkPort: number;
  readonly flags: number;
  readonly exfilLimit: bigint;
  readonly ruleId: number;
  readonly quotaSlot: number;
  readonly budget: bigint;
  readonly meterIndex: number;
  readonly port: number;
  readonly epoch: number;
}

/** local_metadata_t, reused across packets. */
class Meta {
  inPort = 0;
  report = 0;
  role = ROLE_UNKNOWN;
  agentId = 0;
  uplinkPort = 0;
  agentFlags = 0;
  exfilLimit = 0n;
  ipVersion = 0;
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  verdict = VERDICT_NONE;
  reason = 0;
  ruleId = 0;
  ruleFlags = 0;
  quotaSlot = 0;
  quotaBudget = 0n;
  meterIndex = 0;
  color = 0;
  outPort = 0;

  reset(): void {
    this.inPort = 0;
    this.report = 0;
    this.role = ROLE_UNKNOWN;
    this.agentId = 0;
    this.uplinkPort = 0;
    this.agentFlags = 0;
    this.exfilLimit = 0n;
    this.ipVersion = 0;
    this.protocol = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.verdict = VERDICT_NONE;
    this.reason = 0;
    this.ruleId = 0;
    this.ruleFlags = 0;
    this.quotaSlot = 0;
    this.quotaBudget = 0n;
    this.meterIndex = 0;
    this.color = 0;
    this.outPort = 0;
  }

  fail(reason: number): void {
    this.verdict = VERDICT_DROP;
    this.reason = reason;
  }

  run(a: ActionCall): void {
    switch (a.kind) {
      case Kind.AGENT_PORT:
        this.role = ROLE_AGENT;
        this.agentId = a.agentId;
        this.uplinkPort = a.uplinkPort;
        this.agentFlags = a.flags;
        this.exfilLimit = a.exfilLimit;
        return;
      case Kind.UPLINK_PORT:
        this.role = ROLE_UPLINK;
        return;
      case Kind.UNKNOWN_PORT:
        this.role = ROLE_UNKNOWN;
        return;
      case Kind.ALLOW:
      case Kind.ALLOW_QUOTA:
      case Kind.ALLOW_RATE:
        this.verdict = VERDICT_ALLOW;
        this.ruleId = a.ruleId;
        this.ruleFlags = a.flags;
        if (a.kind === Kind.ALLOW_QUOTA) {
          this.quotaSlot = a.quotaSlot;
          this.quotaBudget = a.budget;
        }
        if (a.kind !== Kind.ALLOW) this.meterIndex = a.meterIndex;
        return;
      case Kind.DENY:
        this.verdict = VERDICT_DROP;
        this.reason = Reason.DENY_RULE;
        this.ruleId = a.ruleId;
        this.ruleFlags = a.flags;
        return;
      case Kind.NO_MATCH:
        this.fail(Reason.NO_MATCH);
        return;
      case Kind.TO_HOST:
        this.outPort = a.port;
        this.agentId = a.agentId;
        return;
      case Kind.NO_ROUTE:
        this.fail(Reason.NO_ROUTE);
        return;
    }
  }
}

interface ActionDecoder {
  readonly kind: number;
  /** Param id by contract param name. */
  readonly params: ReadonlyMap<string, number>;
}

// Frame lengths repeat; converting each once spares the collector a BigInt per packet.
const LENGTHS: bigint[] = [];
function lengthAsBigInt(length: number): bigint {
  if (length > 0xffff) return BigInt(length);
  let big = LENGTHS[length];
  if (big === undefined) LENGTHS[length] = big = BigInt(length);
  return big;
}

function countInto(cell: CounterCell, bytes: bigint): void {
  cell.packets += 1n;
  cell.bytes += bytes;
}

/**
 * Runs nicguard's pipeline over one PipelineState. Construct it when the pipeline is committed,
 * before entries are written: the meter time origin and the reconstruction of bmv2's entry
 * handles (tie-breaking, see tables.ts) both start then.
 */
export class PacketModel {
  private readonly clock: () => bigint;
  private readonly originNs: bigint;
  private readonly parsed = new ParsedFrame();
  private readonly meta = new Meta();

  private readonly portMap: ExactIndex<ActionCall>;
  private readonly macGuard: ExactIndex<ActionCall>;
  private readonly ipv4Guard: ExactIndex<ActionCall>;
  private readonly ipv6Guard: ExactIndex<ActionCall>;
  private readonly aclV4: PartitionedPriorityIndex<ActionCall>;
  private readonly aclV6: PartitionedPriorityIndex<ActionCall>;
  private readonly hostRoute: ExactIndex<ActionCall>;
  private readonly sensitiveV4: LpmIndex<ActionCall>;
  private readonly sensitiveV6: LpmIndex<ActionCall>;
  private readonly quotaWindow: ExactIndex<ActionCall>;
  private readonly tables: Record<
    'portMap' | 'aclV4' | 'aclV6' | 'hostRoute' | 'sensitiveV4' | 'sensitiveV6',
    TableState
  >;

  private readonly dropCounter: CounterCell[];
  private readonly auditCounter: CounterCell[];
  private readonly quotaDropCounter: CounterCell[];
  private readonly ruleTxCounter: CounterCell[];
  private readonly sensitiveRxCounter: CounterCell[];
  private readonly quotaUsed: bigint[];
  private readonly quotaEpoch: bigint[];
  private readonly sensitiveRxBytes: bigint[];
  private readonly rateMeter: MeterCell[];
  private readonly denyDigestId: number;
  private readonly packetInIds: readonly number[];

  // Packet-side keys of the ACLs, refilled per packet: dst_addr words, protocol, then dst_port.
  private readonly v4Key: Uint32Array;
  private readonly v6Key: Uint32Array;

  constructor(
    readonly state: PipelineState,
    options: PacketModelOptions = {},
  ) {
    const problems = contractProblems(state.p4info);
    if (problems.length > 0) {
      throw new PacketModelError(
        'NOT_NICGUARD_PIPELINE',
        `the installed pipeline is not nicguard's, so the packet model cannot run it:\n  - ${problems.join('\n  - ')}`,
      );
    }
    this.clock = options.clock ?? (() => process.hrtime.bigint());
    this.originNs = this.clock();

    const decoders = this.actionDecoders();
    const compile = (actionId: number, params: ReadonlyMap<number, bigint>): ActionCall => {
      const d = decoders.get(actionId);
      const get = (name: string): bigint => {
        const id = d?.params.get(name);
        return id === undefined ? 0n : (params.get(id) ?? 0n);
      };
      return {
        kind: d?.kind ?? Kind.NO_OP,
        agentId: Number(get('agent_id')),
        uplinkPort: Number(get('uplink_port')),
        flags: Number(get('flags')),
        exfilLimit: get('exfil_limit'),
        ruleId: Number(get('rule_id')),
        quotaSlot: Number(get('quota_slot')),
        budget: get('budget'),
        meterIndex: Number(get('meter_index')),
        port: Number(get('port')),
        epoch: Number(get('epoch')),
      };
    };
    const table = (name: string) => state.table(name);
    this.tables = {
      portMap: table(TABLES.portMap.name),
      aclV4: table(TABLES.aclV4.name),
      aclV6: table(TABLES.aclV6.name),
      hostRoute: table(TABLES.hostRoute.name),
      sensitiveV4: table(TABLES.sensitiveV4.name),
      sensitiveV6: table(TABLES.sensitiveV6.name),
    };
    this.portMap = new ExactIndex(this.tables.portMap, compile);
    this.macGuard = new ExactIndex(table(TABLES.macGuard.name), compile);
    this.ipv4Guard = new ExactIndex(table(TABLES.ipv4Guard.name), compile);
    this.ipv6Guard = new ExactIndex(table(TABLES.ipv6Guard.name), compile);
    this.aclV4 = new PartitionedPriorityIndex(this.tables.aclV4, compile);
    this.aclV6 = new PartitionedPriorityIndex(this.tables.aclV6, compile);
    this.hostRoute = new ExactIndex(this.tables.hostRoute, compile);
    this.sensitiveV4 = new LpmIndex(this.tables.sensitiveV4, compile);
    this.sensitiveV6 = new LpmIndex(this.tables.sensitiveV6, compile);
    this.quotaWindow = new ExactIndex(table(TABLES.quotaWindow.name), compile);
    this.v4Key = this.aclV4.newKey();
    this.v6Key = this.aclV6.newKey();

    this.dropCounter = state.counter(COUNTERS.drops.name);
    this.auditCounter = state.counter(COUNTERS.audits.name);
    this.quotaDropCounter = state.counter(COUNTERS.quotaDrops.name);
    this.ruleTxCounter = state.counter(COUNTERS.ruleTx.name);
    this.sensitiveRxCounter = state.counter(COUNTERS.sensitiveRx.name);
    this.quotaUsed = state.register(REGISTERS.quotaUsed.name);
    this.quotaEpoch = state.register(REGISTERS.quotaEpoch.name);
    this.sensitiveRxBytes = state.register(REGISTERS.sensitiveRxBytes.name);
    this.rateMeter = state.meter(METERS.rate.name);
    this.denyDigestId = state.p4info.digests.get(DIGESTS.deny.name).id;
    const packetIn = state.p4info.packetMetadata.get(PACKET_METADATA.packetIn.name);
    this.packetInIds = PACKET_METADATA.packetIn.fields.map((f) => packetIn.metadataByName.get(f.name)!.id);
  }

  private actionDecoders(): Map<number, ActionDecoder> {
    const kinds: [string, number][] = [
      [ACTIONS.agentPort.name, Kind.AGENT_PORT],
      [ACTIONS.uplinkPort.name, Kind.UPLINK_PORT],
      [ACTIONS.unknownPort.name, Kind.UNKNOWN_PORT],
      [ACTIONS.allow.name, Kind.ALLOW],
      [ACTIONS.allowQuota.name, Kind.ALLOW_QUOTA],
      [ACTIONS.allowRate.name, Kind.ALLOW_RATE],
      [ACTIONS.deny.name, Kind.DENY],
      [ACTIONS.noMatch.name, Kind.NO_MATCH],
      [ACTIONS.toHost.name, Kind.TO_HOST],
      [ACTIONS.noRoute.name, Kind.NO_ROUTE],
      [ACTIONS.setWindow.name, Kind.SET_WINDOW],
    ];
    const out = new Map<number, ActionDecoder>();
    for (const [name, kind] of kinds) {
      const info = this.state.p4info.actions.get(name);
      out.set(info.id, { kind, params: new Map(info.params.map((p) => [p.name, p.id])) });
    }
    // source_ok, sensitive and NoAction change no metadata: they decode to NO_OP by absence.
    return out;
  }

  /** Runs one frame through the pipeline as bmv2 would on `ingressPort` (CPU_PORT for a PacketOut). */
  process(ingressPort: number, frame: Uint8Array): Verdict {
    if (!Number.isInteger(ingressPort) || ingressPort < 0 || ingressPort > DROP_PORT) {
      throw new PacketModelError(
        'BAD_INGRESS_PORT',
        `ingress port ${ingressPort} is not a 9-bit port number`,
      );
    }
    const p = parseFrame(ingressPort, frame, this.parsed);
    const m = this.meta;
    m.reset();
    const length = p.length;
    const lengthBig = lengthAsBigInt(length);

    // Parser assignments to metadata.
    m.inPort = ingressPort;
    if (p.packetOutValid) {
      m.inPort = p.packetOutIngressPort;
      m.report = p.packetOutReport;
    }

    // The family-neutral 5-tuple.
    if (p.ipv4Valid) {
      m.ipVersion = 4;
      m.protocol = p.ipv4Protocol;
    } else if (p.ipv6Valid) {
      m.ipVersion = 6;
      m.protocol = p.ipv6NextHdr;
    }
    if (p.l4Valid) {
      m.srcPort = p.srcPort;
      m.dstPort = p.dstPort;
    }

    const portHit = this.portMap.lookup1(m.inPort);
    this.applyResult(m, this.tables.portMap, portHit, this.portMap.missAction, lengthBig);

    if (m.role === ROLE_UNKNOWN) {
      m.fail(Reason.UNKNOWN_PORT);
    } else if (m.role === ROLE_UPLINK) {
      this.uplinkPath(p, m, lengthBig);
    } else {
      this.agentPath(p, m, length, lengthBig);
    }

    // Identity failures always drop; a policy drop of an audited agent or rule is forwarded.
    let audit = 0;
    if (
      m.verdict === VERDICT_DROP &&
      m.reason >= FIRST_POLICY_REASON &&
      ((m.agentFlags & AgentFlag.AUDIT) !== 0 || (m.ruleFlags & RuleFlag.AUDIT) !== 0)
    ) {
      audit = 1;
    }
    if (m.verdict === VERDICT_DROP && m.reason >= FIRST_POLICY_REASON && m.reason !== Reason.RATE) {
      this.state.emitDigest(this.denyDigestId, [
        BigInt(m.agentId),
        BigInt(m.ipVersion),
        p.ipv4Valid ? BigInt(p.ipv4Src) : p.ipv6Valid ? wordsToBigInt(p.ipv6Src) : 0n,
        p.ipv4Valid ? BigInt(p.ipv4Dst) : p.ipv6Valid ? wordsToBigInt(p.ipv6Dst) : 0n,
        BigInt(m.protocol),
        BigInt(m.srcPort),
        BigInt(m.dstPort),
        BigInt(m.ruleId),
        BigInt(m.reason),
        BigInt(audit),
      ]);
    }
    if (m.verdict === VERDICT_DROP && audit === 1) {
      this.countIndexed(this.auditCounter, m.reason, lengthBig);
      m.verdict = VERDICT_ALLOW;
    } else if (m.verdict === VERDICT_DROP) {
      this.countIndexed(this.dropCounter, m.reason, lengthBig);
    }
    if (m.verdict === VERDICT_ALLOW && m.ruleId !== 0)
      this.countIndexed(this.ruleTxCounter, m.ruleId, lengthBig);

    const allowed = m.verdict === VERDICT_ALLOW;
    const verdict: Verdict = {
      forwarded: allowed && m.outPort !== DROP_PORT,
      reason: REASON_NAMES[m.reason] ?? 'UNKNOWN',
      reasonCode: m.reason,
      ruleId: m.ruleId,
      agentId: m.agentId,
      audited: audit === 1,
      role: ROLES[m.role] ?? 'unknown',
      inPort: m.inPort,
      report: m.report === 1,
      packetLength: length,
    };
    if (verdict.forwarded) verdict.egressPort = m.outPort;

    // The deparser emits the parsed headers unchanged (packet_out excepted) and then the rest.
    const deparsed = (): Buffer => {
      const body = frame.subarray(p.packetOutValid ? PACKET_OUT_BYTES : 0);
      return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    };
    if (m.report === 1) {
      const values = [
        BigInt(m.inPort),
        allowed ? BigInt(m.outPort) : 0n,
        allowed && audit !== 1 ? BigInt(Reason.NONE) : BigInt(m.reason),
        BigInt(m.ruleId),
        BigInt(audit),
        0n,
      ];
      verdict.packetIn = {
        payload: Buffer.from(deparsed()),
        metadata: new Map(this.packetInIds.map((id, i) => [id, values[i]])),
      };
    } else if (verdict.forwarded && m.outPort === CPU_PORT) {
      verdict.packetIn = this.unreportedPacketIn(deparsed());
    }
    return verdict;
  }

  private uplinkPath(p: ParsedFrame, m: Meta, lengthBig: bigint): void {
    const routeHit = this.hostRoute.lookup1(p.dstMac);
    this.applyResult(m, this.tables.hostRoute, routeHit, this.hostRoute.missAction, lengthBig);
    if (m.verdict === VERDICT_DROP) return;
    m.verdict = VERDICT_ALLOW;
    let sensitive = false;
    if (p.ipv4Valid) {
      const hit = this.sensitiveV4.lookup([p.ipv4Src]);
      this.applyResult(m, this.tables.sensitiveV4, hit, this.sensitiveV4.missAction, lengthBig);
      sensitive = hit !== undefined;
    } else if (p.ipv6Valid) {
      const hit = this.sensitiveV6.lookup(p.ipv6Src);
      this.applyResult(m, this.tables.sensitiveV6, hit, this.sensitiveV6.missAction, lengthBig);
      sensitive = hit !== undefined;
    }
    if (sensitive) {
      // add_sensitive_bytes: a bit<64> read-modify-write, wrapping like the register does.
      const cells = this.sensitiveRxBytes;
      if (m.agentId < cells.length) cells[m.agentId] = BigInt.asUintN(U64, cells[m.agentId] + lengthBig);
      this.countIndexed(this.sensitiveRxCounter, m.agentId, lengthBig);
    }
  }

  private agentPath(p: ParsedFrame, m: Meta, length: number, lengthBig: bigint): void {
    m.outPort = m.uplinkPort;
    const macHit = this.macGuard.lookup2(m.agentId, p.srcMac);
    m.run(macHit ? macHit.action : this.macGuard.missAction);
    if (macHit === undefined) {
      m.fail(Reason.SPOOFED);
    } else if (p.etherType === ETHERTYPE_ARP) {
      m.verdict = VERDICT_ALLOW;
    } else if (p.ipv4Valid) {
      const guard = this.ipv4Guard.lookup2(m.agentId, p.ipv4Src);
      m.run(guard ? guard.action : this.ipv4Guard.missAction);
      if (guard === undefined) m.fail(Reason.SPOOFED);
      else {
        const key = this.v4Key;
        key[0] = p.ipv4Dst;
        key[1] = m.protocol;
        key[2] = m.dstPort;
        const rule = this.aclV4.lookup(m.agentId, key);
        this.applyResult(m, this.tables.aclV4, rule, this.aclV4.missAction, lengthBig);
      }
    } else if (p.ipv6Valid) {
      const s = p.ipv6Src;
      const guard = this.ipv6Guard.lookup2(m.agentId, s[0] + '.' + s[1] + '.' + s[2] + '.' + s[3]);
      m.run(guard ? guard.action : this.ipv6Guard.missAction);
      if (guard === undefined) m.fail(Reason.SPOOFED);
      else {
        const key = this.v6Key;
        key.set(p.ipv6Dst, 0);
        key[4] = m.protocol;
        key[5] = m.dstPort;
        const rule = this.aclV6.lookup(m.agentId, key);
        this.applyResult(m, this.tables.aclV6, rule, this.aclV6.missAction, lengthBig);
      }
    } else {
      m.fail(Reason.NOT_IP);
    }

    // Exfiltration guard.
    if (m.verdict === VERDICT_ALLOW && m.ruleId !== 0) {
      const cells = this.sensitiveRxBytes;
      const tally = m.agentId < cells.length ? cells[m.agentId] : 0n;
      if ((m.ruleFlags & RuleFlag.TRUSTED) === 0 && tally > m.exfilLimit) m.fail(Reason.EXFIL);
    }
    // Rate.
    if (m.verdict === VERDICT_ALLOW && m.meterIndex !== 0) {
      if (m.meterIndex < this.rateMeter.length) {
        m.color = executeMeter(
          this.rateMeter[m.meterIndex],
          length,
          microsSince(this.originNs, this.clock()),
        );
      }
      if (m.color === Color.RED) m.fail(Reason.RATE);
    }
    // Quota.
    if (m.verdict === VERDICT_ALLOW && m.quotaSlot !== 0) {
      // quota_window: the slot's current epoch (0 without an entry); a stored epoch that differs
      // starts the window from zero.
      const epoch = BigInt(this.quotaWindow.lookup1(m.quotaSlot)?.action.epoch ?? 0);
      const cells = this.quotaUsed;
      const inRange = m.quotaSlot < cells.length;
      let used = inRange ? cells[m.quotaSlot] : 0n;
      if (inRange && this.quotaEpoch[m.quotaSlot] !== epoch) {
        used = 0n;
        this.quotaEpoch[m.quotaSlot] = epoch;
      }
      const after = BigInt.asUintN(U64, used + lengthBig);
      if (after > m.quotaBudget) {
        m.fail(Reason.QUOTA);
        this.countIndexed(this.quotaDropCounter, m.quotaSlot, lengthBig);
        if (inRange) cells[m.quotaSlot] = used;
      } else if (inRange) {
        cells[m.quotaSlot] = after;
      }
    }
  }

  /** A table's effect: the hit entry's action (and its direct counter), or the default action. */
  private applyResult(
    m: Meta,
    table: TableState,
    hit: { entry: StoredEntry; action: ActionCall } | undefined,
    miss: ActionCall,
    lengthBig: bigint,
  ): void {
    if (hit === undefined) {
      m.run(miss);
      return;
    }
    if (table.hasDirectCounter) countInto(hit.entry.counter, lengthBig);
    m.run(hit.action);
  }

  private countIndexed(cells: CounterCell[], index: number, lengthBig: bigint): void {
    if (index < cells.length) countInto(cells[index], lengthBig);
  }

  // A frame forwarded to the CPU port without the program setting packet_in valid: PI still reads
  // the first bytes as the packet_in header, so the controller sees the frame's own bytes there.
  private unreportedPacketIn(frame: Buffer): PacketInOutput | undefined {
    if (frame.length < PACKET_IN_BYTES) return undefined;
    const header = frame.readBigUInt64BE(0);
    const fields = PACKET_METADATA.packetIn.fields;
    const metadata = new Map<number, bigint>();
    let shift = 64;
    fields.forEach((f, i) => {
      shift -= f.bitwidth;
      metadata.set(this.packetInIds[i], (header >> BigInt(shift)) & ((1n << BigInt(f.bitwidth)) - 1n));
    });
    return { payload: Buffer.from(frame.subarray(PACKET_IN_BYTES)), metadata };
  }
}
