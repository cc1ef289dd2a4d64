// Capability profiles: what a P4Runtime target actually supports, so that the compiler can choose
// a form the target can run and the client can refuse, before sending, what the target would
// reject. Facts per target are those observed of its P4Runtime server.

export type Atomicity = 'CONTINUE_ON_ERROR' | 'ROLLBACK_ON_ERROR' | 'DATAPLANE_ATOMIC';

export interface TargetProfile {
  readonly name: ProfileName;
  readonly description: string;
  /** MasterArbitrationUpdate on the stream (P4Runtime §5); without it the server has one controller. */
  readonly arbitration: boolean;
  /** MODIFY of non-default table entries; without it a change is DELETE then INSERT. */
  readonly modifyEntries: boolean;
  /** The program keeps data-plane registers (quota and taint state); without them quotas live in the controller. */
  readonly registers: boolean;
  /**
   * Register reads and writes over P4Runtime (§9.7). bmv2's server (PI) answers both with
   * UNIMPLEMENTED, so nicguard never needs them: quota windows are reset through a table and
   * register state is mirrored in counters.
   */
  readonly registerAccess: boolean;
  /** Digest configuration and DigestList delivery. */
  readonly digests: boolean;
  /** PacketIn / PacketOut on the stream. */
  readonly packetIo: boolean;
  /** The Capabilities RPC. */
  readonly capabilitiesRpc: boolean;
  readonly atomicity: readonly Atomicity[];
  /** Table and counter sizes must be powers of two below this bound (exclusive) when set. */
  readonly powerOfTwoSizesBelow?: number;
  /** Where byte quotas are enforced: in the data plane (registers) or by the controller flipping rules. */
  readonly quotaEnforcement: 'dataplane' | 'controller';
}

export type ProfileName = 'bmv2' | 'softnic' | 'bluefield-dpl';

const bmv2: TargetProfile = {
  name: 'bmv2',
  description: 'bmv2 simple_switch_grpc (PI P4Runtime server), v1model',
  arbitration: true,
  modifyEntries: true,
  registers: true,
  registerAccess: false,
  digests: true,
  packetIo: true,
  capabilitiesRpc: true,
  atomicity: ['CONTINUE_ON_ERROR'],
  quotaEnforcement: 'dataplane',
};

export const PROFILES: Readonly<Record<ProfileName, TargetProfile>> = {
  bmv2,
  // The built-in target is a reference model of bmv2 and claims exactly what bmv2 does.
  softnic: {
    ...bmv2,
    name: 'softnic',
    description: 'nicguard built-in software target (reference model of bmv2)',
  },
  'bluefield-dpl': {
    name: 'bluefield-dpl',
    description: 'NVIDIA BlueField-3, DOCA Pipeline Language runtime service',
    arbitration: false,
    modifyEntries: false,
    registers: false,
    registerAccess: false,
    digests: false,
    packetIo: true,
    capabilitiesRpc: false,
    atomicity: ['CONTINUE_ON_ERROR'],
    powerOfTwoSizesBelow: 2 ** 23,
    quotaEnforcement: 'controller',
  },
};

export function profileByName(name: string): TargetProfile {
  const profile = (PROFILES as Record<string, TargetProfile | undefined>)[name];
  if (!profile) {
    throw new Error(`unknown target profile "${name}": expected one of ${Object.keys(PROFILES).join(', ')}`);
  }
  return profile;
}
