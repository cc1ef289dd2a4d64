// The softnic's data plane seen from outside: the PacketOut processor the P4Runtime server calls,
// and an in-process injection API for tests and the scenario runner. Both run frames through the
// packet model of the committed pipeline and hand what reaches the CPU port to the server as
// PacketIns.
//
// Probing a softnic that runs as a separate process (side channel, no extra API):
//   send a PacketOut (P4Runtime §16.1) whose packet_out metadata is ingress_port = the port to
//   pretend the frame arrived on, report = 1. The pipeline processes the frame exactly as if it had
//   arrived there and, instead of forwarding or dropping it, returns it as a PacketIn whose
//   packet_in metadata carries the verdict: ingress_port, egress_port (0 when dropped), reason
//   (Reason code: 0 when forwarded, the would-be reason of a drop forwarded under audit mode),
//   rule_id, and audited (1 for such a frame). The same works
//   against bmv2, since it is part of p4/nicguard.p4, not of the softnic. A probe is a real
//   packet: it moves counters, quota registers and meters like any other (its packet_length
//   includes the 2-byte packet_out header), and policy drops still send digests.
//
// bmv2's PI builds the packet_out header from the metadata in P4Info order and leaves a field the
// client omitted at zero (PI proto/frontend/src/packet_io_mgr.cpp, PacketOutMutate); the same here.

import { CPU_PORT, PACKET_METADATA } from '../pipeline/contract';
import { PacketModel, PacketModelError, type PacketModelOptions, type Verdict } from './model';
import type { PipelineState } from './state';

/** The server's PacketOut hook (server.ts DataplaneProcessor), restated so as not to depend on the server. */
export interface PacketOutProcessor {
  packetOut(payload: Buffer, metadata: ReadonlyMap<number, bigint>, state: PipelineState): void;
}

/** What `attachTo` needs from a server (server.ts Softnic satisfies it). */
export interface DataplaneHost {
  readonly state: PipelineState | undefined;
  setDataplane(processor: PacketOutProcessor | undefined): void;
  onPipelineCommitted(listener: (state: PipelineState) => void): () => void;
}

export class SoftnicDataplane implements PacketOutProcessor {
  private readonly models = new WeakMap<PipelineState, PacketModel>();
  private current: PipelineState | undefined;

  constructor(private readonly options: PacketModelOptions = {}) {}

  /**
   * Installs a dataplane as `host`'s PacketOut processor and follows its pipeline commits, so each
   * new pipeline gets a model from the moment it is committed. Returns a function that detaches it.
   */
  static attachTo(
    host: DataplaneHost,
    options: PacketModelOptions = {},
  ): SoftnicDataplane & { detach(): void } {
    const dataplane = new SoftnicDataplane(options);
    const state = host.state;
    if (state !== undefined && dataplane.accepts(state)) dataplane.attach(state);
    const unsubscribe = host.onPipelineCommitted((committed) => {
      if (dataplane.accepts(committed)) dataplane.attach(committed);
      else dataplane.current = undefined;
    });
    host.setDataplane(dataplane);
    return Object.assign(dataplane, {
      detach(): void {
        unsubscribe();
        host.setDataplane(undefined);
      },
    });
  }

  /** Whether `state` runs a pipeline the model can execute. */
  accepts(state: PipelineState): boolean {
    try {
      this.modelFor(state);
      return true;
    } catch {
      return false;
    }
  }

  /** Makes `state` the pipeline that `inject` runs on, creating its model (throws PacketModelError if not nicguard). */
  attach(state: PipelineState): PacketModel {
    const model = this.modelFor(state);
    this.current = state;
    return model;
  }

  /** The model of the attached pipeline. */
  get model(): PacketModel | undefined {
    return this.current === undefined ? undefined : this.models.get(this.current);
  }

  /**
   * Runs `frame` as if it arrived on `ingressPort` of the attached pipeline. Frames that end up on
   * the CPU port are also delivered as PacketIns, as on the device.
   */
  inject(ingressPort: number, frame: Uint8Array): Verdict {
    if (this.current === undefined) {
      throw new PacketModelError('NO_PIPELINE', 'no nicguard pipeline is attached to this dataplane');
    }
    return this.deliver(this.current, this.modelFor(this.current).process(ingressPort, frame));
  }

  /** The server's hook: the PacketOut enters on the CPU port, packet_out header first. */
  packetOut(payload: Buffer, metadata: ReadonlyMap<number, bigint>, state: PipelineState): void {
    this.runPacketOut(payload, metadata, state);
  }

  /** As packetOut, returning the verdict: for in-process callers that speak in PacketOut terms. */
  runPacketOut(payload: Buffer, metadata: ReadonlyMap<number, bigint>, state: PipelineState): Verdict {
    const frame = Buffer.concat([packetOutHeader(state, metadata), payload]);
    return this.deliver(state, this.modelFor(state).process(CPU_PORT, frame));
  }

  private deliver(state: PipelineState, verdict: Verdict): Verdict {
    if (verdict.packetIn !== undefined)
      state.emitPacketIn(verdict.packetIn.payload, verdict.packetIn.metadata);
    return verdict;
  }

  private modelFor(state: PipelineState): PacketModel {
    let model = this.models.get(state);
    if (model === undefined) {
      model = new PacketModel(state, this.options);
      this.models.set(state, model);
    }
    return model;
  }
}

/** The packet_out header bytes for `metadata` (by id), fields packed most significant bit first. */
export function packetOutHeader(state: PipelineState, metadata: ReadonlyMap<number, bigint>): Buffer {
  const info = state.p4info.packetMetadata.get(PACKET_METADATA.packetOut.name);
  let bits = 0;
  let value = 0n;
  for (const field of info.metadata) {
    const width = BigInt(field.bitwidth);
    value = (value << width) | ((metadata.get(field.id) ?? 0n) & ((1n << width) - 1n));
    bits += field.bitwidth;
  }
  const bytes = Math.ceil(bits / 8);
  value <<= BigInt(bytes * 8 - bits);
  const out = Buffer.alloc(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** packet_out metadata by id for a probe of `ingressPort`, reporting when `report` is set. */
export function packetOutMetadata(
  state: PipelineState,
  ingressPort: number,
  report: boolean,
): Map<number, bigint> {
  const info = state.p4info.packetMetadata.get(PACKET_METADATA.packetOut.name);
  const id = (name: string) => info.metadataByName.get(name)?.id ?? 0;
  return new Map([
    [id('ingress_port'), BigInt(ingressPort)],
    [id('report'), report ? 1n : 0n],
  ]);
}
