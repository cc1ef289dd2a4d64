// The nicguard table contract: the one description of p4/nicguard.p4 that the compiler, the
// software target's packet model and the tests read. Names are P4Info fully qualified names; the
// widths and sizes must equal what p4c puts in the P4Info, which `checkContract` enforces at load
// time so that a program and a controller that disagree never run together.

export type MatchKind = 'EXACT' | 'LPM' | 'TERNARY' | 'RANGE' | 'OPTIONAL';

export interface KeyContract {
  readonly name: string;
  readonly kind: MatchKind;
  readonly bitwidth: number;
}

export interface ParamContract {
  readonly name: string;
  readonly bitwidth: number;
}

export interface ActionContract {
  readonly name: string;
  readonly params: readonly ParamContract[];
}

export interface TableContract {
  readonly name: string;
  readonly keys: readonly KeyContract[];
  /** Actions an entry may carry. */
  readonly actions: readonly string[];
  /** The constant default action: what a miss does. */
  readonly defaultAction: string;
  readonly size: number;
  /** Name of the direct counter attached to the table, if any. */
  readonly directCounter?: string;
  /**
   * Written by the controller at run time (e.g. quota window epochs), not compiled from policy:
   * the planner neither installs nor removes its entries.
   */
  readonly runtimeOwned?: boolean;
}

export interface IndexedContract {
  readonly name: string;
  readonly size: number;
}

export interface RegisterContract extends IndexedContract {
  readonly bitwidth: number;
}

export interface DigestContract {
  readonly name: string;
  readonly fields: readonly ParamContract[];
}

export interface PacketMetadataContract {
  readonly name: 'packet_in' | 'packet_out';
  readonly fields: readonly ParamContract[];
}

const ingress = (local: string): string => `NicguardIngress.${local}`;

/** Why a frame was (or in audit mode would have been) dropped: the index of drop_counter and
 * audit_counter and the `reason` of digests and PacketIns. */
export const Reason = {
  NONE: 0,
  UNKNOWN_PORT: 1,
  SPOOFED: 2,
  NOT_IP: 3,
  NO_ROUTE: 4,
  NO_MATCH: 5,
  DENY_RULE: 6,
  QUOTA: 7,
  RATE: 8,
  EXFIL: 9,
} as const;
export type ReasonCode = (typeof Reason)[keyof typeof Reason];
export type ReasonName = keyof typeof Reason;

/** Reasons at or above this are policy decisions, subject to audit mode; below it, identity. */
export const FIRST_POLICY_REASON = Reason.NO_MATCH;

export function reasonName(code: number): ReasonName | 'UNKNOWN' {
  for (const [name, value] of Object.entries(Reason)) if (value === code) return name as ReasonName;
  return 'UNKNOWN';
}

export const AgentFlag = { AUDIT: 0x01 } as const;
export const RuleFlag = { TRUSTED: 0x01, AUDIT: 0x02 } as const;

/** Port on which PacketOut frames enter and PacketIn frames leave (bmv2 `--cpu-port`). */
export const CPU_PORT = 255;
/** Width of a v1model port number. */
export const PORT_BITS = 9;
/** Written as an agent's exfil_limit when it has no exfiltration guard: no tally can exceed it. */
export const NO_EXFIL_LIMIT = (1n << 48n) - 1n;

const ACL_ACTIONS = ['allow', 'allow_quota', 'allow_rate', 'deny'].map(ingress);

function aclTable(family: 'v4' | 'v6', addrBits: number, size: number): TableContract {
  return {
    name: ingress(`acl_${family}`),
    keys: [
      { name: 'agent_id', kind: 'EXACT', bitwidth: 16 },
      { name: 'dst_addr', kind: 'TERNARY', bitwidth: addrBits },
      { name: 'protocol', kind: 'TERNARY', bitwidth: 8 },
      { name: 'dst_port', kind: 'RANGE', bitwidth: 16 },
    ],
    actions: ACL_ACTIONS,
    defaultAction: ingress('no_match'),
    size,
    directCounter: ingress(`acl_${family}_counter`),
  };
}

function guardTable(local: string, keyName: string, keyBits: number): TableContract {
  return {
    name: ingress(local),
    keys: [
      { name: 'agent_id', kind: 'EXACT', bitwidth: 16 },
      { name: keyName, kind: 'EXACT', bitwidth: keyBits },
    ],
    actions: [ingress('source_ok')],
    defaultAction: 'NoAction',
    size: 4096,
  };
}

function sensitiveTable(family: 'v4' | 'v6', addrBits: number): TableContract {
  return {
    name: ingress(`sensitive_${family}`),
    keys: [{ name: 'src_addr', kind: 'LPM', bitwidth: addrBits }],
    actions: [ingress('sensitive')],
    defaultAction: 'NoAction',
    size: 1024,
    directCounter: ingress(`sensitive_${family}_counter`),
  };
}

export const TABLES = {
  portMap: {
    name: ingress('port_map'),
    keys: [{ name: 'ingress_port', kind: 'EXACT', bitwidth: PORT_BITS }],
    actions: [ingress('agent_port'), ingress('uplink_port')],
    defaultAction: ingress('unknown_port'),
    size: 512,
    directCounter: ingress('port_map_counter'),
  },
  macGuard: guardTable('mac_guard', 'src_mac', 48),
  ipv4Guard: guardTable('ipv4_guard', 'src_addr', 32),
  ipv6Guard: guardTable('ipv6_guard', 'src_addr', 128),
  aclV4: aclTable('v4', 32, 131072),
  aclV6: aclTable('v6', 128, 65536),
  hostRoute: {
    name: ingress('host_route'),
    keys: [{ name: 'dst_mac', kind: 'EXACT', bitwidth: 48 }],
    actions: [ingress('to_host')],
    defaultAction: ingress('no_route'),
    size: 4096,
    directCounter: ingress('host_route_counter'),
  },
  sensitiveV4: sensitiveTable('v4', 32),
  sensitiveV6: sensitiveTable('v6', 128),
  quotaWindow: {
    name: ingress('quota_window'),
    keys: [{ name: 'quota_slot', kind: 'EXACT', bitwidth: 16 }],
    actions: [ingress('set_window')],
    defaultAction: 'NoAction',
    size: 65536,
    runtimeOwned: true,
  },
} as const satisfies Record<string, TableContract>;

export type TableKey = keyof typeof TABLES;

export const ACTIONS = {
  agentPort: {
    name: ingress('agent_port'),
    params: [
      { name: 'agent_id', bitwidth: 16 },
      { name: 'uplink_port', bitwidth: PORT_BITS },
      { name: 'flags', bitwidth: 8 },
      { name: 'exfil_limit', bitwidth: 48 },
    ],
  },
  uplinkPort: { name: ingress('uplink_port'), params: [] },
  unknownPort: { name: ingress('unknown_port'), params: [] },
  sourceOk: { name: ingress('source_ok'), params: [] },
  allow: {
    name: ingress('allow'),
    params: [
      { name: 'rule_id', bitwidth: 32 },
      { name: 'flags', bitwidth: 8 },
    ],
  },
  allowQuota: {
    name: ingress('allow_quota'),
    params: [
      { name: 'rule_id', bitwidth: 32 },
      { name: 'flags', bitwidth: 8 },
      { name: 'quota_slot', bitwidth: 16 },
      { name: 'budget', bitwidth: 64 },
      { name: 'meter_index', bitwidth: 16 },
    ],
  },
  allowRate: {
    name: ingress('allow_rate'),
    params: [
      { name: 'rule_id', bitwidth: 32 },
      { name: 'flags', bitwidth: 8 },
      { name: 'meter_index', bitwidth: 16 },
    ],
  },
  deny: {
    name: ingress('deny'),
    params: [
      { name: 'rule_id', bitwidth: 32 },
      { name: 'flags', bitwidth: 8 },
    ],
  },
  noMatch: { name: ingress('no_match'), params: [] },
  toHost: {
    name: ingress('to_host'),
    params: [
      { name: 'port', bitwidth: PORT_BITS },
      { name: 'agent_id', bitwidth: 16 },
    ],
  },
  noRoute: { name: ingress('no_route'), params: [] },
  sensitive: { name: ingress('sensitive'), params: [] },
  setWindow: { name: ingress('set_window'), params: [{ name: 'epoch', bitwidth: 32 }] },
} as const satisfies Record<string, ActionContract>;

export const COUNTERS = {
  drops: { name: ingress('drop_counter'), size: 16 },
  audits: { name: ingress('audit_counter'), size: 16 },
  quotaDrops: { name: ingress('quota_drop_counter'), size: 65536 },
  /** Per rule id: what the rule let out (after every later stage), the evidence of bytes out. */
  ruleTx: { name: ingress('rule_tx_counter'), size: 131072 },
  /** Per agent id: bytes received from sensitive sources (the readable twin of the tally register). */
  sensitiveRx: { name: ingress('sensitive_rx_counter'), size: 4096 },
} as const satisfies Record<string, IndexedContract>;

export const REGISTERS = {
  quotaUsed: { name: ingress('quota_used'), size: 65536, bitwidth: 64 },
  sensitiveRxBytes: { name: ingress('sensitive_rx_bytes'), size: 4096, bitwidth: 64 },
  quotaEpoch: { name: ingress('quota_epoch'), size: 65536, bitwidth: 32 },
} as const satisfies Record<string, RegisterContract>;

export const METERS = {
  rate: { name: ingress('rate_meter'), size: 4096 },
} as const satisfies Record<string, IndexedContract>;

/** Quota slot 0 and meter index 0 mean "none"; agent id 0 is never assigned. */
export const FIRST_SLOT = 1;

export const DIGESTS = {
  deny: {
    name: 'deny_digest_t',
    fields: [
      { name: 'agent_id', bitwidth: 16 },
      { name: 'ip_version', bitwidth: 8 },
      { name: 'src_addr', bitwidth: 128 },
      { name: 'dst_addr', bitwidth: 128 },
      { name: 'protocol', bitwidth: 8 },
      { name: 'src_port', bitwidth: 16 },
      { name: 'dst_port', bitwidth: 16 },
      { name: 'rule_id', bitwidth: 32 },
      { name: 'reason', bitwidth: 8 },
      { name: 'audit', bitwidth: 8 },
    ],
  },
} as const satisfies Record<string, DigestContract>;

export const PACKET_METADATA = {
  packetOut: {
    name: 'packet_out',
    fields: [
      { name: 'ingress_port', bitwidth: PORT_BITS },
      { name: 'report', bitwidth: 1 },
      { name: '_pad', bitwidth: 6 },
    ],
  },
  packetIn: {
    name: 'packet_in',
    fields: [
      { name: 'ingress_port', bitwidth: PORT_BITS },
      { name: 'egress_port', bitwidth: PORT_BITS },
      { name: 'reason', bitwidth: 8 },
      { name: 'rule_id', bitwidth: 32 },
      { name: 'audited', bitwidth: 1 },
      { name: '_pad', bitwidth: 5 },
    ],
  },
} as const satisfies Record<string, PacketMetadataContract>;
