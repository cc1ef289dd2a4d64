// What a flow's expectation means, packet by packet and in total, and the words a failure is
// reported in. A flow expectation concerns the agent's own packets (the send direction); replies
// have their own optional check.
//
//   allowed        every packet forwarded, none under audit mode
//   denied         every packet dropped by a deny rule (DENY_RULE) or by matching no rule (NO_MATCH)
//   quota-dropped  every packet forwarded or dropped by the quota (QUOTA), and at least one dropped
//   rate-limited   every packet forwarded or dropped by the rate meter (RATE), and at least one dropped
//   exfil-blocked  every packet dropped by the exfiltration guard (EXFIL)
//   audited        every packet forwarded, and at least one only because of audit mode
//   spoofed        every packet dropped as spoofed (SPOOFED: source MAC or IP not the agent's)
//   unknown-port   every packet dropped for entering on a port the policy does not know (UNKNOWN_PORT)
// `reason` additionally requires every dropped or audited packet to carry that reason; `rule`
// requires every packet to have been decided by that rule.

import type { ReasonName } from '../pipeline/contract';
import { compare, type Expectation, type FlowExpectation } from './model';
import type { InjectResult } from './target';

export const EXPECTATION_MEANING: Readonly<Record<Expectation, string>> = {
  allowed: 'every packet forwarded, none under audit mode',
  denied: 'every packet dropped by a deny rule or by matching no rule',
  'quota-dropped': 'packets forwarded until the quota ran out, the rest dropped with reason QUOTA',
  'rate-limited': 'packets forwarded or dropped by the rate meter, at least one dropped with reason RATE',
  'exfil-blocked': 'every packet dropped by the exfiltration guard (EXFIL)',
  audited: 'every packet forwarded, at least one only because of audit mode',
  spoofed: 'every packet dropped as spoofed',
  'unknown-port': 'every packet dropped for entering on an unknown port',
};

function packetFits(expect: Expectation, r: InjectResult): boolean {
  const dropped = (reason: ReasonName) => !r.forwarded && r.reason === reason;
  const plainForward = r.forwarded && !r.audited;
  switch (expect) {
    case 'allowed':
      return plainForward;
    case 'denied':
      return dropped('DENY_RULE') || dropped('NO_MATCH');
    case 'quota-dropped':
      return plainForward || dropped('QUOTA');
    case 'rate-limited':
      return plainForward || dropped('RATE');
    case 'exfil-blocked':
      return dropped('EXFIL');
    case 'audited':
      return r.forwarded;
    case 'spoofed':
      return dropped('SPOOFED');
    case 'unknown-port':
      return dropped('UNKNOWN_PORT');
  }
}

export interface ReplyObservation {
  sent: number;
  delivered: number;
  dropped: number;
  /** Replies not sent because none of the agent's packets reached the host. */
  skipped: number;
}

export interface FlowObservation {
  packets: number;
  bytes: number;
  forwarded: number;
  forwardedBytes: number;
  /** Dropped packets by reason. */
  drops: Record<string, number>;
  /** Forwarded under audit mode, by the reason they would have been dropped for. */
  audited: Record<string, number>;
  /** Packets by the rule that decided them (rule name, or `id N`; `none` for 0). */
  rules: Record<string, number>;
  firstMismatch?: { packet: number; verdict: string };
  replies: ReplyObservation;
}

export interface FlowOutcome {
  readonly ok: boolean;
  /** Why the step failed; empty when it passed. */
  readonly problems: readonly string[];
  readonly summary: string;
  readonly observation: FlowObservation;
}

export function describeResult(r: InjectResult, ruleName: (id: number) => string): string {
  const rule = r.ruleId === 0 ? 'no rule' : `rule ${ruleName(r.ruleId)}`;
  if (r.forwarded && r.audited) return `forwarded under audit mode (would drop: ${r.reason}), ${rule}`;
  if (r.forwarded) return `forwarded to port ${r.egressPort ?? '?'}, ${rule}`;
  return `dropped, reason ${r.reason}, ${rule}`;
}

/** Counts a flow's verdicts as they come and judges them against the step's expectation. */
export class FlowTally {
  private readonly obs: FlowObservation = {
    packets: 0,
    bytes: 0,
    forwarded: 0,
    forwardedBytes: 0,
    drops: {},
    audited: {},
    rules: {},
    replies: { sent: 0, delivered: 0, dropped: 0, skipped: 0 },
  };

  constructor(
    private readonly check: FlowExpectation,
    /** Rule ids the step's `rule` names (any agent's); undefined when no rule is pinned. */
    private readonly ruleIds: ReadonlySet<number> | undefined,
    private readonly ruleName: (id: number) => string,
  ) {}

  get anyForwarded(): boolean {
    return this.obs.forwarded > 0;
  }

  addSent(r: InjectResult): void {
    const o = this.obs;
    o.packets++;
    o.bytes += r.packetLength;
    if (r.forwarded) {
      o.forwarded++;
      o.forwardedBytes += r.packetLength;
      if (r.audited) o.audited[r.reason] = (o.audited[r.reason] ?? 0) + 1;
    } else {
      o.drops[r.reason] = (o.drops[r.reason] ?? 0) + 1;
    }
    const rule = r.ruleId === 0 ? 'none' : this.ruleName(r.ruleId);
    o.rules[rule] = (o.rules[rule] ?? 0) + 1;
    if (o.firstMismatch === undefined && !this.fits(r)) {
      o.firstMismatch = { packet: o.packets, verdict: describeResult(r, this.ruleName) };
    }
  }

  addReply(r: InjectResult): void {
    this.obs.replies.sent++;
    if (r.forwarded) this.obs.replies.delivered++;
    else this.obs.replies.dropped++;
  }

  skipReply(): void {
    this.obs.replies.skipped++;
  }

  private fits(r: InjectResult): boolean {
    const c = this.check;
    if (!packetFits(c.expect, r)) return false;
    if (c.reason !== undefined && (!r.forwarded || r.audited) && r.reason !== c.reason) return false;
    if (this.ruleIds !== undefined && !this.ruleIds.has(r.ruleId)) return false;
    return true;
  }

  /**
   * `allowance`: bytes forwardedBytes may run above its figure, with the reason shown in a failure
   * (a controller-enforced quota's overshoot bound).
   */
  outcome(allowance?: { readonly bytes: number; readonly why: string }): FlowOutcome {
    const o = this.obs;
    const c = this.check;
    const problems: string[] = [];
    const wanted = [
      `expected ${c.expect} (${EXPECTATION_MEANING[c.expect]})`,
      ...(c.reason ? [`with reason ${c.reason}`] : []),
      ...(c.rule ? [`decided by rule ${c.rule}`] : []),
    ].join(' ');
    if (o.packets === 0) problems.push(`${wanted}, but the flow sent no packets`);
    else if (o.firstMismatch !== undefined) {
      problems.push(
        `${wanted}; first mismatching packet #${o.firstMismatch.packet}: ${o.firstMismatch.verdict}`,
      );
    } else if (c.expect === 'quota-dropped' && !o.drops.QUOTA) {
      problems.push(`${wanted}, but no packet was dropped by the quota`);
    } else if (c.expect === 'rate-limited' && !o.drops.RATE) {
      problems.push(`${wanted}, but no packet was dropped by the rate meter`);
    } else if (c.expect === 'audited' && Object.keys(o.audited).length === 0) {
      problems.push(`${wanted}, but no packet was forwarded under audit mode`);
    }
    if (c.forwardedBytes && !compare(c.forwardedBytes, o.forwardedBytes, allowance?.bytes)) {
      const extra = allowance ? ` (+ up to ${formatBytes(allowance.bytes)}: ${allowance.why})` : '';
      problems.push(
        `expected forwardedBytes ${c.forwardedBytes.text}${extra}, got ${o.forwardedBytes} B (${formatBytes(o.forwardedBytes)})`,
      );
    }
    if (c.replies === 'delivered' && (o.replies.sent === 0 || o.replies.delivered !== o.replies.sent)) {
      problems.push(`expected every reply delivered to the agent, got ${describeReplies(o.replies)}`);
    }
    if (c.replies === 'dropped' && o.replies.delivered > 0) {
      problems.push(`expected no reply to reach the agent, got ${describeReplies(o.replies)}`);
    }
    return { ok: problems.length === 0, problems, summary: describeObservation(o), observation: o };
  }
}

function describeReplies(r: ReplyObservation): string {
  if (r.sent === 0 && r.skipped === 0) return 'no replies';
  const parts = [`${r.delivered} delivered`];
  if (r.dropped > 0) parts.push(`${r.dropped} dropped`);
  if (r.skipped > 0) parts.push(`${r.skipped} not sent (no request reached the host)`);
  return `replies: ${parts.join(', ')}`;
}

/** "40 packets: 12 forwarded (17.7 KiB), 28 dropped QUOTA; replies: 3 delivered". */
export function describeObservation(o: FlowObservation): string {
  const parts = [`${o.forwarded} forwarded (${formatBytes(o.forwardedBytes)})`];
  for (const [reason, n] of Object.entries(o.audited))
    parts.push(`${n} of them under audit (would drop: ${reason})`);
  for (const [reason, n] of Object.entries(o.drops)) parts.push(`${n} dropped ${reason}`);
  const replies = o.replies.sent + o.replies.skipped > 0 ? `; ${describeReplies(o.replies)}` : '';
  return `${o.packets} packet${o.packets === 1 ? '' : 's'}: ${parts.join(', ')}${replies}`;
}

/** Bytes in the largest binary unit that keeps the number at or above one. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} B`
    : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}
