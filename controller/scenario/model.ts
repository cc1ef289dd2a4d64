// A scenario as the runner reads it: the policy under test, where agents and remote hosts sit, and
// the steps (traffic with the verdicts it should get, counter checks, the passing of time). Plain
// data with every quantity in base units; parse.ts builds it from YAML with positions.

import type { ReasonName } from '../pipeline/contract';

/** The name a tester gives a verdict pattern over all the packets an agent sends in one step. */
export const EXPECTATIONS = [
  'allowed',
  'denied',
  'quota-dropped',
  'rate-limited',
  'exfil-blocked',
  'audited',
  'spoofed',
  'unknown-port',
] as const;
export type Expectation = (typeof EXPECTATIONS)[number];

export type Comparator = '>=' | '<=' | '>' | '<' | '==' | '~';

/** A number compared with what was observed; `~` is within APPROX_SHARE of the value. */
export interface Comparison {
  readonly op: Comparator;
  readonly value: number;
  /** As written, for messages. */
  readonly text: string;
}

/** `~X` accepts values within this share of X either way. */
export const APPROX_SHARE = 0.05;

export interface HostDef {
  readonly name: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/** An agent's place in the topology; fields left out come from the policy. */
export interface AgentOverride {
  readonly name: string;
  readonly port?: number;
  readonly mac?: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
}

export interface Topology {
  readonly gatewayMac: string;
  readonly hosts: readonly HostDef[];
  readonly agents: readonly AgentOverride[];
}

export type FlowProtocol = 'tcp' | 'udp' | 'icmp';

export interface FlowDef {
  /** Agent name. */
  readonly from: string;
  /** Host name or IP address. */
  readonly to: string;
  readonly protocol: FlowProtocol;
  /** Destination port; absent for ICMP. */
  readonly port?: number;
  readonly srcPort?: number;
  /** Application bytes the agent sends. */
  readonly bytes: number;
  /** Application bytes the host sends back (receive direction), when the request reached it. */
  readonly replyBytes?: number;
  /** Largest IP packet, headers included. */
  readonly mtu: number;
  /** Address family when both ends have both. */
  readonly family?: 4 | 6;
  /** Bytes per second on the wire: moves the virtual clock between packets. */
  readonly paceBytesPerSecond?: number;
  /** Spoof overrides: send from another port, MAC or source address than the agent's own. */
  readonly ingressPort?: number;
  readonly mac?: string;
  readonly ip?: string;
}

export interface FlowExpectation {
  readonly expect: Expectation;
  readonly reason?: ReasonName;
  readonly rule?: string;
  /** Frame bytes forwarded, as the device counts them. */
  readonly forwardedBytes?: Comparison;
  readonly replies?: 'delivered' | 'dropped';
}

export type CounterCheck =
  | {
      readonly kind: 'rule';
      readonly rule: string;
      readonly agent?: string;
      readonly packets?: Comparison;
      readonly bytes?: Comparison;
    }
  | {
      readonly kind: 'taint';
      readonly agent: string;
      readonly tainted?: boolean;
      readonly sensitiveBytes?: Comparison;
    }
  | {
      readonly kind: 'drops' | 'audits';
      readonly reason: ReasonName;
      readonly packets?: Comparison;
      readonly bytes?: Comparison;
    };

interface StepBase {
  /** 0-based position in `steps`. */
  readonly index: number;
  readonly name: string;
  readonly line: number;
}

export type Step =
  | (StepBase & { readonly kind: 'send' | 'spoof'; readonly flow: FlowDef; readonly check: FlowExpectation })
  | (StepBase & { readonly kind: 'expect-counter'; readonly counter: CounterCheck })
  | (StepBase & { readonly kind: 'advance'; readonly seconds: number; readonly text: string });

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  /** Absolute paths (resolved against the scenario file's folder). */
  readonly policyFiles: readonly string[];
  readonly topology: Topology;
  readonly steps: readonly Step[];
}

/**
 * Whether `observed` satisfies `c`. `allowance` widens the comparison upwards only (a quota the
 * controller cuts may run past its figure by the overshoot bound, never fall short of it): an upper
 * limit rises by it, `~X` and `==` accept up to that much more, lower limits are unchanged.
 */
export function compare(c: Comparison, observed: number, allowance = 0): boolean {
  if (allowance > 0) {
    switch (c.op) {
      case '<=':
        return observed <= c.value + allowance;
      case '<':
        return observed < c.value + allowance;
      case '==':
        return observed >= c.value && observed <= c.value + allowance;
      case '~':
        return (
          Math.abs(observed - c.value) <= c.value * APPROX_SHARE ||
          (observed >= c.value && observed <= c.value * (1 + APPROX_SHARE) + allowance)
        );
      default:
        break;
    }
  }
  switch (c.op) {
    case '>=':
      return observed >= c.value;
    case '<=':
      return observed <= c.value;
    case '>':
      return observed > c.value;
    case '<':
      return observed < c.value;
    case '==':
      return observed === c.value;
    case '~':
      return Math.abs(observed - c.value) <= c.value * APPROX_SHARE;
  }
}
