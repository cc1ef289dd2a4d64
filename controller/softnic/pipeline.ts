// Forwarding-pipeline configuration (P4Runtime §14, §15): which pipeline is saved, which is running.
//
// Two slots. `committed` is what the data plane runs; `saved` is a config accepted by VERIFY_AND_SAVE
// and not yet committed. Reads and Writes address the saved pipeline when there is one (§14: "any
// subsequent Read / Write requests must refer to fields in the new config"), so writes made after a
// save are exactly the state COMMIT puts in service. Every pipeline starts from empty forwarding
// state: VERIFY_AND_COMMIT clears everything, as the spec requires.
//
// Any valid P4Info is accepted: the softnic stores and validates state for any program; whether the
// packet model can run it is the model's concern. p4_device_config is opaque here and kept as given.
// RECONCILE_AND_COMMIT is answered UNIMPLEMENTED, which §14 allows.

import { status as S } from '@grpc/grpc-js';
import { P4InfoError, P4InfoIndex } from '../p4runtime/p4info';
import type {
  ForwardingPipelineConfig,
  PipelineConfigAction,
  PipelineConfigResponseType,
  PacketIn,
} from '../p4runtime/proto';
import { encodeUnsigned } from '../p4runtime/values';
import type { Clock } from './clock';
import { DigestEngine, type DigestListSink } from './digests';
import { invalid, SoftnicError, unsupported } from './errors';
import { ReadProcessor } from './reads';
import { PipelineState, SoftnicStateError } from './state';
import { WriteProcessor } from './writes';

/** Where a pipeline's data-plane outputs go once they are in wire form. */
export interface PipelineSinks {
  digestList: DigestListSink;
  packetIn(packet: PacketIn): void;
}

/** One installed or saved pipeline and the processors bound to its state. */
export class Pipeline {
  readonly writes: WriteProcessor;
  readonly reads: ReadProcessor;
  readonly digests: DigestEngine;
  private readonly packetInWidths: ReadonlyMap<number, number>;

  constructor(
    readonly state: PipelineState,
    /** Whether the config carried a cookie message (Get returns one only then, §15). */
    readonly hasCookie: boolean,
    sinks: PipelineSinks,
    clock: Clock,
  ) {
    this.digests = new DigestEngine(state, sinks.digestList, clock);
    this.writes = new WriteProcessor(state, (id, config) => this.digests.configChanged(id, config));
    this.reads = new ReadProcessor(state, this.writes);
    const header = state.p4info.packetMetadata.find('packet_in');
    this.packetInWidths = new Map((header?.metadata ?? []).map((m) => [m.id, m.bitwidth]));
    state.setOutputs({
      digest: (id, members) => this.digests.digest(id, members),
      packetIn: (payload, metadata) => sinks.packetIn(this.packetIn(payload, metadata)),
    });
  }

  /** Detaches the state from the server: no more outputs, no timers. */
  retire(): void {
    this.state.setOutputs(undefined);
    this.digests.close();
  }

  private packetIn(payload: Buffer, metadata: ReadonlyMap<number, bigint>): PacketIn {
    const out: PacketIn = { payload };
    if (metadata.size > 0) {
      out.metadata = [];
      for (const [id, value] of metadata) {
        const width = this.packetInWidths.get(id);
        if (width === undefined) {
          throw new SoftnicStateError('BAD_OUTPUT', `packet_in has no metadata id ${id}`);
        }
        out.metadata.push({
          metadata_id: id,
          value: encodeUnsigned(value, width, `packet_in metadata ${id}`),
        });
      }
    }
    return out;
  }
}

export interface PipelineChange {
  /** The pipeline now running, when this call changed it. */
  readonly committed?: Pipeline;
}

export class PipelineSlots {
  private committedSlot: Pipeline | undefined;
  private savedSlot: Pipeline | undefined;

  constructor(
    private readonly sinks: PipelineSinks,
    private readonly clock: Clock,
  ) {}

  /** The pipeline the data plane runs. */
  get committed(): Pipeline | undefined {
    return this.committedSlot;
  }

  /** The pipeline Reads and Writes address: the saved one if any, else the committed one. */
  get control(): Pipeline | undefined {
    return this.savedSlot ?? this.committedSlot;
  }

  /** SetForwardingPipelineConfig's action (§14). Throws SoftnicError. */
  set(
    action: PipelineConfigAction | undefined,
    config: ForwardingPipelineConfig | undefined,
  ): PipelineChange {
    switch (action ?? 'UNSPECIFIED') {
      case 'VERIFY':
        this.verify(config);
        return {};
      case 'VERIFY_AND_SAVE': {
        const next = this.build(config);
        this.savedSlot?.retire();
        this.savedSlot = next;
        return {};
      }
      case 'VERIFY_AND_COMMIT': {
        const next = this.build(config);
        this.savedSlot?.retire();
        this.savedSlot = undefined;
        return this.commit(next);
      }
      case 'COMMIT': {
        if (config !== undefined && (config.p4info !== undefined || config.p4_device_config !== undefined)) {
          throw invalid('BAD_PIPELINE_CONFIG', 'COMMIT takes no config: it commits the saved one');
        }
        const saved = this.savedSlot;
        if (saved === undefined) {
          throw new SoftnicError(
            S.NOT_FOUND,
            'NO_SAVED_PIPELINE',
            'COMMIT without a preceding VERIFY_AND_SAVE',
          );
        }
        this.savedSlot = undefined;
        return this.commit(saved);
      }
      case 'RECONCILE_AND_COMMIT':
        throw unsupported(
          'RECONCILE_AND_COMMIT is not supported; use VERIFY_AND_COMMIT (forwarding state is cleared)',
        );
      default:
        throw invalid(
          'BAD_PIPELINE_CONFIG',
          `SetForwardingPipelineConfig action ${String(action)} is not valid`,
        );
    }
  }

  /** GetForwardingPipelineConfig (§15): the config Reads and Writes refer to, cut to `type`. */
  get(type: PipelineConfigResponseType | undefined): ForwardingPipelineConfig {
    const p = this.control;
    if (p === undefined) {
      throw new SoftnicError(
        S.FAILED_PRECONDITION,
        'NO_PIPELINE',
        'no forwarding pipeline config has been set',
      );
    }
    const out: ForwardingPipelineConfig = {};
    const t = type ?? 'ALL';
    if (t === 'ALL' || t === 'P4INFO_AND_COOKIE') out.p4info = p.state.p4infoMessage;
    if (t === 'ALL' || t === 'DEVICE_CONFIG_AND_COOKIE') {
      if (p.state.deviceConfig.length > 0) out.p4_device_config = p.state.deviceConfig;
    } else if (t !== 'COOKIE_ONLY' && t !== 'P4INFO_AND_COOKIE') {
      throw invalid('BAD_PIPELINE_CONFIG', `response_type ${String(type)} is not valid`);
    }
    if (p.hasCookie) out.cookie = { cookie: p.state.cookie };
    return out;
  }

  /** Retires every pipeline (server shutdown). */
  close(): void {
    this.savedSlot?.retire();
    this.committedSlot?.retire();
    this.savedSlot = undefined;
    this.committedSlot = undefined;
  }

  private commit(next: Pipeline): PipelineChange {
    this.committedSlot?.retire();
    this.committedSlot = next;
    return { committed: next };
  }

  private verify(config: ForwardingPipelineConfig | undefined): P4InfoIndex {
    if (config?.p4info === undefined) {
      throw invalid('BAD_PIPELINE_CONFIG', 'the config, with its p4info, must be provided');
    }
    try {
      return P4InfoIndex.fromMessage(config.p4info);
    } catch (err) {
      if (err instanceof P4InfoError)
        throw invalid('BAD_PIPELINE_CONFIG', `P4Info cannot be realized: ${err.message}`);
      throw err;
    }
  }

  private build(config: ForwardingPipelineConfig | undefined): Pipeline {
    const p4info = this.verify(config);
    const cookie = config?.cookie;
    const state = new PipelineState({
      p4info,
      cookie: cookie?.cookie ?? '0',
      deviceConfig: config?.p4_device_config ? Buffer.from(config.p4_device_config) : undefined,
    });
    return new Pipeline(state, cookie !== undefined, this.sinks, this.clock);
  }
}
