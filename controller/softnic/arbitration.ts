// Client arbitration (P4Runtime §5): who is primary for each (device_id, role), and who is told.
//
// The device is fixed (one softnic serves one device_id), so the state is a group of live streams
// per role. Choices, with the rule each follows:
//
//   - The primary is the live stream with the highest election_id; a stream without election_id is
//     never primary (§16.2.1). When the primary leaves, the next highest takes over at once. This is
//     what bmv2's server (PI) does; the spec's stricter "election_id_past" rule (§5.3), under which a
//     lower id must re-arbitrate first, is not applied, so failover needs no extra round trip.
//   - Notifications (§5.4): a stream that becomes primary, a primary that leaves or steps down, tell
//     every stream of the role; otherwise only the stream that sent the update hears back. Primary
//     gets status OK, backups ALREADY_EXISTS, everyone NOT_FOUND while there is no primary.
//   - Named roles are accepted and arbitrated separately, each with full pipeline access; a
//     role.config is refused as UNIMPLEMENTED, since this target implements no role-config scheme
//     (§5.2 leaves the scheme to targets).
//   - At most 16 streams per role (PI's limit); more get RESOURCE_EXHAUSTED (§5.3).

import { status as S } from '@grpc/grpc-js';
import type { MasterArbitrationUpdate } from '../p4runtime/proto';
import { SoftnicError } from './errors';

/** google.rpc.Code values used in MasterArbitrationUpdate.status. */
const RPC_OK = 0;
const RPC_NOT_FOUND = 5;
const RPC_ALREADY_EXISTS = 6;

/** One StreamChannel, as arbitration sees it. */
export interface ArbitrationPeer {
  sendArbitration(update: MasterArbitrationUpdate): void;
}

export interface ArbitrationRequest {
  deviceId: bigint;
  /** '' is the default role (§5.1). */
  role: string;
  /** undefined when the client left election_id unset. */
  electionId: bigint | undefined;
  hasRoleConfig: boolean;
}

interface Member {
  readonly peer: ArbitrationPeer;
  readonly role: string;
  electionId: bigint | undefined;
}

interface RoleGroup {
  readonly members: Member[];
  /** Highest election_id ever seen for the role, reported while no primary exists (§5.4). */
  highest: bigint | undefined;
}

export const MAX_STREAMS_PER_ROLE = 16;

// Zero halves are left out, as a proto3 encoder would, so the message reads back as it was sent.
function uint128(v: bigint): { high?: string; low?: string } {
  const out: { high?: string; low?: string } = {};
  if (v >> 64n !== 0n) out.high = (v >> 64n).toString();
  if (BigInt.asUintN(64, v) !== 0n) out.low = BigInt.asUintN(64, v).toString();
  return out;
}

export class Arbitrator {
  private readonly groups = new Map<string, RoleGroup>();
  private readonly members = new Map<ArbitrationPeer, Member>();

  constructor(readonly deviceId: bigint) {}

  /**
   * Applies a MasterArbitrationUpdate received on `peer`'s stream. A thrown SoftnicError means the
   * stream must be terminated with that status (§5.3); the peer is then not (or no longer) a member.
   */
  arbitrate(peer: ArbitrationPeer, req: ArbitrationRequest): void {
    const existing = this.members.get(peer);
    if (req.deviceId === 0n) {
      throw new SoftnicError(
        S.INVALID_ARGUMENT,
        'INVALID_DEVICE_ID',
        'device_id 0 is not a valid device id (P4Runtime §5.1)',
      );
    }
    if (existing === undefined) {
      if (req.deviceId !== this.deviceId) {
        throw new SoftnicError(
          S.NOT_FOUND,
          'UNKNOWN_DEVICE',
          `device_id ${req.deviceId} is unknown; this device is ${this.deviceId}`,
        );
      }
    } else {
      if (req.deviceId !== this.deviceId) {
        this.leave(peer);
        throw new SoftnicError(
          S.FAILED_PRECONDITION,
          'DEVICE_CHANGED',
          'a stream cannot change its device_id',
        );
      }
      if (req.role !== existing.role) {
        this.leave(peer);
        throw new SoftnicError(
          S.FAILED_PRECONDITION,
          'ROLE_CHANGED',
          'a stream cannot change its role; open a new stream',
        );
      }
    }
    if (req.hasRoleConfig) {
      if (existing) this.leave(peer);
      throw new SoftnicError(
        S.UNIMPLEMENTED,
        'ROLE_CONFIG',
        'role.config is not supported: roles have full pipeline access',
      );
    }
    const group = this.group(req.role);
    if (req.electionId !== undefined) {
      const clash = group.members.find((m) => m.peer !== peer && m.electionId === req.electionId);
      if (clash) {
        if (existing) this.leave(peer);
        throw new SoftnicError(
          S.INVALID_ARGUMENT,
          'DUPLICATE_ELECTION_ID',
          `election_id ${req.electionId} is already used by another live controller of this role`,
        );
      }
    }
    const before = primaryOf(group);
    if (existing === undefined) {
      if (group.members.length >= MAX_STREAMS_PER_ROLE) {
        throw new SoftnicError(
          S.RESOURCE_EXHAUSTED,
          'TOO_MANY_CONNECTIONS',
          `at most ${MAX_STREAMS_PER_ROLE} streams per role`,
        );
      }
      const member: Member = { peer, role: req.role, electionId: req.electionId };
      group.members.push(member);
      this.members.set(peer, member);
    } else {
      existing.electionId = req.electionId;
    }
    if (req.electionId !== undefined && (group.highest === undefined || req.electionId > group.highest)) {
      group.highest = req.electionId;
    }
    const after = primaryOf(group);
    if (after !== before) this.notifyAll(group);
    else this.notifyOne(group, this.members.get(peer)!);
  }

  /** The stream ended (or was ended): forget it, and announce a new primary if it was the primary. */
  leave(peer: ArbitrationPeer): void {
    const member = this.members.get(peer);
    if (member === undefined) return;
    this.members.delete(peer);
    const group = this.group(member.role);
    const wasPrimary = primaryOf(group) === member;
    group.members.splice(group.members.indexOf(member), 1);
    if (wasPrimary) this.notifyAll(group);
    if (group.members.length === 0 && member.role !== '') this.groups.delete(member.role);
  }

  /** Whether requests carrying (role, election_id) come from the role's primary (§12, §14). */
  isPrimary(role: string, electionId: bigint | undefined): boolean {
    if (electionId === undefined) return false;
    const group = this.groups.get(role);
    const primary = group && primaryOf(group);
    return primary !== undefined && primary.electionId === electionId;
  }

  /** Whether the role is known: the default role always, a named role while it has a live stream. */
  hasRole(role: string): boolean {
    return role === '' || this.groups.has(role);
  }

  /** Whether this stream is currently the primary of its role. */
  isPrimaryPeer(peer: ArbitrationPeer): boolean {
    const member = this.members.get(peer);
    return member !== undefined && primaryOf(this.group(member.role)) === member;
  }

  /** The primary stream of every role: where PacketIns and digests go (all roles have full access). */
  primaries(): ArbitrationPeer[] {
    const out: ArbitrationPeer[] = [];
    for (const group of this.groups.values()) {
      const p = primaryOf(group);
      if (p) out.push(p.peer);
    }
    return out;
  }

  isMember(peer: ArbitrationPeer): boolean {
    return this.members.has(peer);
  }

  private group(role: string): RoleGroup {
    let g = this.groups.get(role);
    if (g === undefined) {
      g = { members: [], highest: undefined };
      this.groups.set(role, g);
    }
    return g;
  }

  private notifyAll(group: RoleGroup): void {
    for (const m of [...group.members]) this.notifyOne(group, m);
  }

  private notifyOne(group: RoleGroup, member: Member): void {
    const primary = primaryOf(group);
    const shown = primary?.electionId ?? group.highest;
    const update: MasterArbitrationUpdate = {
      device_id: this.deviceId.toString(),
      status:
        primary === undefined
          ? { code: RPC_NOT_FOUND, message: 'No primary' }
          : primary === member
            ? { code: RPC_OK, message: 'Is primary' }
            : { code: RPC_ALREADY_EXISTS, message: 'Is backup' },
    };
    if (member.role !== '') update.role = { name: member.role };
    if (shown !== undefined) update.election_id = uint128(shown);
    member.peer.sendArbitration(update);
  }
}

function primaryOf(group: RoleGroup): Member | undefined {
  let best: Member | undefined;
  for (const m of group.members) {
    if (m.electionId !== undefined && (best === undefined || m.electionId > best.electionId!)) best = m;
  }
  return best;
}
