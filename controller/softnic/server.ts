// The softnic's P4Runtime server: nicguard's built-in software target, reachable by any P4Runtime
// client over gRPC, answering as bmv2's P4Runtime server (PI) does for the same requests.
//
//   const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1n });
//   nic.port; nic.address; nic.state;   // state: the committed PipelineState, or undefined
//   nic.setDataplane(model);            // who handles PacketOuts (see DataplaneProcessor)
//   await nic.stop();                   // graceful; nic.kill() drops connections at once
//
// Packet model hook-up (the server stays model-agnostic):
//   - PacketOut from the primary controller → processor.packetOut(payload, metadata, state), with
//     `metadata` the packet_out header fields by metadata id and `state` the committed pipeline.
//     Without a processor, or before a pipeline is committed, PacketOuts are dropped silently.
//   - The model reports outputs through state.emitPacketIn() and state.emitDigest(); the server
//     delivers them to the primary of each role (P4Runtime §16.1, §16.3).
//   - onPipelineCommitted(listener) tells the model when a new pipeline (and so a new, empty
//     PipelineState) replaced the old one.
//
// Deviations from PI, each chosen for conformance with the spec:
//   - Write/SetForwardingPipelineConfig need a primary stream even when no client is connected (PI
//     lets election-less requests through then); §12 and §14 make non-primary PERMISSION_DENIED.
//   - Requests for another device_id get NOT_FOUND (§12, §13, §14); PI creates a device on demand.
//   - Registers can be read and written (§9.7); PI answers UNIMPLEMENTED.
//   - A full table is RESOURCE_EXHAUSTED (§12), where PI reports UNKNOWN.
//   - Empty bytestrings are rejected (§8.3); PI reads them as zero.
// See arbitration.ts, writes.ts and pipeline.ts for the choices specific to each.
//
// With `mode: 'bluefield-dpl'` it answers as NVIDIA's DPL runtime service instead: no arbitration, one
// controller, fewer entities and operations (dpl-mode.ts).

import * as grpc from '@grpc/grpc-js';
import { loadP4RuntimeGrpc, type P4RuntimeHandlers } from '../p4runtime/proto';
import type {
  CapabilitiesRequest,
  CapabilitiesResponse,
  DigestList,
  GetForwardingPipelineConfigRequest,
  GetForwardingPipelineConfigResponse,
  PacketIn,
  SetForwardingPipelineConfigRequest,
  SetForwardingPipelineConfigResponse,
  StreamMessageRequest,
  StreamMessageResponse,
  WriteResponse,
  MasterArbitrationUpdate,
} from '../p4runtime/proto';
import { decodeUnsigned, P4ValueError } from '../p4runtime/values';
import { Arbitrator, type ArbitrationPeer } from './arbitration';
import {
  arbitrationRefusal,
  capabilitiesRefusal,
  dplReadRefusal,
  dplUpdateRefusal,
  secondControllerRefusal,
  withoutQuotaRegister,
  type SoftnicMode,
} from './dpl-mode';
import { SystemClock, type Clock } from './clock';
import { asSoftnicError, batchError, rpcError, SoftnicError } from './errors';
import { PipelineSlots, type Pipeline } from './pipeline';
import type { PipelineState } from './state';
import {
  atomicityName,
  decodeReadRequest,
  electionId,
  frameWriteRequest,
  u64,
  type WireReadRequest,
  type WireU64,
  type WriteRequestFrame,
} from './wire';

/** P4Runtime version of the protocol files this server is built from (p4runtime.proto, Capabilities). */
export const P4RUNTIME_API_VERSION = '1.5.0';

/** What runs the data plane for PacketOuts; the packet model implements it. */
export interface DataplaneProcessor {
  /**
   * A PacketOut from a primary controller (P4Runtime §16.1). `metadata` holds the packet_out header
   * fields by metadata id, already checked against their bitwidths. Called synchronously from the
   * stream handler; exceptions are reported to the sender as a StreamError.
   */
  packetOut(payload: Buffer, metadata: ReadonlyMap<number, bigint>, state: PipelineState): void;
}

export type PacketOutListener = DataplaneProcessor['packetOut'];

export interface SoftnicTlsOptions {
  cert: Buffer;
  key: Buffer;
  /** Trusted roots for client certificates; required when requireClientCert is set. */
  ca?: Buffer;
  /** Mutual TLS: refuse clients without a certificate issued by `ca`. */
  requireClientCert?: boolean;
}

export interface SoftnicOptions {
  /** host:port to listen on; port 0 picks a free port. */
  address: string;
  /** The device_id clients must use; never 0 (P4Runtime §5.1). */
  deviceId: bigint | number;
  tls?: SoftnicTlsOptions;
  clock?: Clock;
  /** Whose P4Runtime server to behave as: bmv2's (default) or the BlueField DPL service's (dpl-mode.ts). */
  mode?: SoftnicMode;
}

export type SoftnicErrorKind = 'BAD_OPTIONS' | 'BIND_FAILED';

export class SoftnicStartError extends Error {
  override readonly name = 'SoftnicStartError';
  constructor(
    readonly code: SoftnicErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/**
 * The P4Runtime service definition with the two bulk paths re-wired: Write requests reach the handler
 * as bytes (applied from the bytes where possible, fast-write.ts), Read requests are decoded without
 * the object conversion, and Read responses arrive already serialised (see wire.ts).
 */
function serviceDefinition(): grpc.ServiceDefinition {
  const base = loadP4RuntimeGrpc().P4RuntimeService;
  return {
    ...base,
    Write: { ...base.Write, requestDeserialize: (b: Buffer) => b },
    Read: {
      ...base.Read,
      requestDeserialize: decodeReadRequest,
      responseSerialize: (b: Buffer) => b,
    },
  } as grpc.ServiceDefinition;
}

type Stream = grpc.ServerDuplexStream<StreamMessageRequest, StreamMessageResponse>;

/** One StreamChannel call. */
class StreamSession implements ArbitrationPeer {
  closed = false;
  constructor(readonly call: Stream) {}

  send(msg: StreamMessageResponse): void {
    if (!this.closed) this.call.write(msg);
  }

  sendArbitration(update: MasterArbitrationUpdate): void {
    this.send({ arbitration: update });
  }

  /** Ends the stream with an error status (P4Runtime §5.3 terminations). */
  fail(err: SoftnicError): void {
    if (this.closed) return;
    this.closed = true;
    this.call.emit('error', { code: err.status, details: err.message });
  }

  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
  }
}

export class Softnic {
  readonly deviceId: bigint;
  private readonly arbitrator: Arbitrator;
  private readonly pipelines: PipelineSlots;
  private readonly sessions = new Set<StreamSession>();
  private processor: DataplaneProcessor | undefined;
  private readonly packetOutListeners: PacketOutListener[] = [];
  private readonly commitListeners: ((state: PipelineState) => void)[] = [];
  private stopped = false;
  /** bluefield-dpl: the one open stream, which stands in for the primary (there is no arbitration). */
  private dplController: StreamSession | undefined;

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    readonly address: string,
    deviceId: bigint,
    clock: Clock,
    readonly mode: SoftnicMode,
  ) {
    this.deviceId = deviceId;
    this.arbitrator = new Arbitrator(deviceId);
    this.pipelines = new PipelineSlots(
      {
        digestList: (list) => this.broadcast({ digest: list }),
        packetIn: (packet) => this.broadcast({ packet }),
      },
      clock,
    );
  }

  static async start(options: SoftnicOptions): Promise<Softnic> {
    const deviceId = BigInt(options.deviceId);
    if (deviceId <= 0n || deviceId >= 1n << 64n) {
      throw new SoftnicStartError(
        'BAD_OPTIONS',
        `device id ${deviceId} is not a non-zero uint64 (P4Runtime §5.1)`,
      );
    }
    const credentials = serverCredentials(options.tls);
    const server = new grpc.Server(SERVER_OPTIONS);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(options.address, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    ).catch((err: Error) => {
      throw new SoftnicStartError('BIND_FAILED', `cannot listen on ${options.address}: ${err.message}`);
    });
    const host = options.address.slice(0, options.address.lastIndexOf(':'));
    const nic = new Softnic(
      server,
      port,
      `${host}:${port}`,
      deviceId,
      options.clock ?? new SystemClock(),
      options.mode ?? 'bmv2',
    );
    if (nic.mode === 'bluefield-dpl') nic.onPipelineCommitted(withoutQuotaRegister);
    server.addService(serviceDefinition(), nic.handlers() as unknown as grpc.UntypedServiceImplementation);
    return nic;
  }

  /** The committed pipeline's state (what the data plane runs), or undefined before the first commit. */
  get state(): PipelineState | undefined {
    return this.pipelines.committed?.state;
  }

  /** The pipeline Reads and Writes currently address (the saved one after VERIFY_AND_SAVE). */
  get controlState(): PipelineState | undefined {
    return this.pipelines.control?.state;
  }

  /** Installs (or with undefined removes) the packet processor for PacketOuts. */
  setDataplane(processor: DataplaneProcessor | undefined): void {
    this.processor = processor;
  }

  /** Also calls `listener` for every accepted PacketOut, after the processor. Returns an unsubscriber. */
  onPacketOut(listener: PacketOutListener): () => void {
    this.packetOutListeners.push(listener);
    return () => {
      const i = this.packetOutListeners.indexOf(listener);
      if (i >= 0) this.packetOutListeners.splice(i, 1);
    };
  }

  /** Calls `listener` with the new state whenever a pipeline is committed. Returns an unsubscriber. */
  onPipelineCommitted(listener: (state: PipelineState) => void): () => void {
    this.commitListeners.push(listener);
    return () => {
      const i = this.commitListeners.indexOf(listener);
      if (i >= 0) this.commitListeners.splice(i, 1);
    };
  }

  /** Graceful stop: ends every stream with OK, waits for calls in flight, releases the port. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.sessions) s.finish();
    this.sessions.clear();
    this.pipelines.close();
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => resolve());
    });
  }

  /** Abrupt stop, for fault tests: cancels every call and drops the connections; releases the port. */
  kill(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.sessions) s.closed = true;
    this.sessions.clear();
    this.pipelines.close();
    this.server.forceShutdown();
  }

  /**
   * Ends every StreamChannel with UNAVAILABLE while the device keeps its pipeline, entries and
   * counters, as a broken connection would: for tests of what a controller does on reconnecting.
   */
  breakStreams(): void {
    for (const s of [...this.sessions]) {
      s.closed = true;
      s.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'stream broken' });
    }
  }

  // ------------------------------------------------------------ RPC handlers

  private handlers(): P4RuntimeHandlers {
    return {
      Write: (call, callback) => this.write(call.request as unknown as Buffer, callback),
      Read: (call) => this.read(call as unknown as grpc.ServerWritableStream<WireReadRequest, Buffer>),
      SetForwardingPipelineConfig: (call, callback) => this.setPipeline(call.request, callback),
      GetForwardingPipelineConfig: (call, callback) => this.getPipeline(call.request, callback),
      StreamChannel: (call) => this.streamChannel(call),
      Capabilities: (call, callback) => this.capabilities(call.request, callback),
    };
  }

  /** §12, §13, §14: a device_id that is not ours. 0 is never valid (§5.1). */
  private checkDevice(deviceId: WireU64 | bigint): void {
    const id = typeof deviceId === 'bigint' ? deviceId : u64(deviceId);
    if (id === 0n)
      throw new SoftnicError(
        grpc.status.INVALID_ARGUMENT,
        'INVALID_DEVICE_ID',
        'device_id 0 is not valid (P4Runtime §5.1)',
      );
    if (id !== this.deviceId) {
      throw new SoftnicError(
        grpc.status.NOT_FOUND,
        'UNKNOWN_DEVICE',
        `device_id ${id} is unknown; this device is ${this.deviceId}`,
      );
    }
  }

  /** The checks §12 and §14 list before any work: device, role, primary. */
  private checkPrimary(role: string, election: bigint | undefined): void {
    if (this.mode === 'bluefield-dpl') return; // one controller, no election (dpl-mode.ts)
    if (!this.arbitrator.hasRole(role)) {
      throw new SoftnicError(
        grpc.status.NOT_FOUND,
        'UNKNOWN_ROLE',
        `role '${role}' has no controller on this device`,
      );
    }
    if (!this.arbitrator.isPrimary(role, election)) {
      throw new SoftnicError(
        grpc.status.PERMISSION_DENIED,
        'NOT_PRIMARY',
        `not the primary controller for role '${role}' (election_id ${election ?? 'unset'})`,
      );
    }
  }

  private controlPipeline(): Pipeline {
    const p = this.pipelines.control;
    if (p === undefined) {
      throw new SoftnicError(
        grpc.status.FAILED_PRECONDITION,
        'NO_PIPELINE',
        'no forwarding pipeline config has been set',
      );
    }
    return p;
  }

  private write(bytes: Buffer, callback: grpc.sendUnaryData<WriteResponse>): void {
    let pipeline: Pipeline;
    let req: WriteRequestFrame;
    try {
      try {
        req = frameWriteRequest(bytes);
      } catch (err) {
        throw new SoftnicError(
          grpc.status.INVALID_ARGUMENT,
          'BAD_DATA',
          `malformed WriteRequest: ${(err as Error).message}`,
        );
      }
      this.checkDevice(req.deviceId);
      this.checkPrimary(req.role, req.electionId);
      pipeline = this.controlPipeline();
      const atomicity = atomicityName(req.atomicity);
      if (atomicity !== 'CONTINUE_ON_ERROR') {
        throw new SoftnicError(
          grpc.status.UNIMPLEMENTED,
          'UNSUPPORTED',
          `atomicity ${atomicity} is not supported (P4Runtime §12.2)`,
        );
      }
    } catch (err) {
      callback(rpcError(asSoftnicError(err)));
      return;
    }
    const ranges = req.updates;
    const count = ranges.length / 2;
    const writes = pipeline.writes;
    let results: (SoftnicError | undefined)[] | undefined;
    for (let i = 0; i < count; i++) {
      const err =
        (this.mode === 'bluefield-dpl'
          ? dplUpdateRefusal(bytes, ranges[2 * i], ranges[2 * i + 1])
          : undefined) ?? writes.applyEncoded(bytes, ranges[2 * i], ranges[2 * i + 1]);
      if (err !== undefined) {
        results ??= new Array<SoftnicError | undefined>(count).fill(undefined);
        results[i] = err;
      }
    }
    if (results === undefined) callback(null, {});
    else callback(batchError(results, 'Write'));
  }

  private read(call: grpc.ServerWritableStream<WireReadRequest, Buffer>): void {
    const req = call.request;
    let pipeline: Pipeline;
    try {
      this.checkDevice(req.device_id);
      pipeline = this.controlPipeline();
      const refusal = this.mode === 'bluefield-dpl' ? dplReadRefusal(req.entities ?? []) : undefined;
      if (refusal) throw refusal;
    } catch (err) {
      call.emit('error', rpcError(asSoftnicError(err)));
      return;
    }
    const result = pipeline.reads.read(req.entities ?? []);
    for (const response of result.responses) call.write(response);
    if (result.errors.some((e) => e !== undefined)) call.emit('error', batchError(result.errors, 'Read'));
    else call.end();
  }

  private setPipeline(
    req: SetForwardingPipelineConfigRequest,
    callback: grpc.sendUnaryData<SetForwardingPipelineConfigResponse>,
  ): void {
    try {
      this.checkDevice(req.device_id);
      this.checkPrimary(req.role ?? '', electionId(req.election_id));
      const change = this.pipelines.set(req.action, req.config);
      callback(null, {});
      if (change.committed) for (const l of [...this.commitListeners]) l(change.committed.state);
    } catch (err) {
      callback(rpcError(asSoftnicError(err)));
    }
  }

  private getPipeline(
    req: GetForwardingPipelineConfigRequest,
    callback: grpc.sendUnaryData<GetForwardingPipelineConfigResponse>,
  ): void {
    try {
      this.checkDevice(req.device_id);
      callback(null, { config: this.pipelines.get(req.response_type) });
    } catch (err) {
      callback(rpcError(asSoftnicError(err)));
    }
  }

  private capabilities(req: CapabilitiesRequest, callback: grpc.sendUnaryData<CapabilitiesResponse>): void {
    if (this.mode === 'bluefield-dpl') {
      callback(rpcError(capabilitiesRefusal()));
      return;
    }
    // device_id is an optional filter (§17): unset means server-wide.
    if (req.device_id !== undefined && u64(req.device_id) !== this.deviceId) {
      callback({ code: grpc.status.NOT_FOUND, details: `device_id ${req.device_id} is unknown` });
      return;
    }
    callback(null, { p4runtime_api_version: P4RUNTIME_API_VERSION });
  }

  // ------------------------------------------------------------ StreamChannel (§16)

  private streamChannel(call: Stream): void {
    const session = new StreamSession(call);
    if (this.stopped) {
      session.fail(new SoftnicError(grpc.status.UNAVAILABLE, 'UNSUPPORTED', 'server is stopping'));
      return;
    }
    if (this.mode === 'bluefield-dpl') {
      if (this.dplController !== undefined && !this.dplController.closed) {
        session.fail(secondControllerRefusal());
        return;
      }
      this.dplController = session;
    }
    this.sessions.add(session);
    const close = () => {
      this.sessions.delete(session);
      this.arbitrator.leave(session);
      if (this.dplController === session) this.dplController = undefined;
    };
    call.on('data', (msg: StreamMessageRequest) => this.onStreamMessage(session, msg));
    call.on('end', () => {
      close();
      session.finish();
    });
    call.on('error', () => {
      session.closed = true;
      close();
    });
    call.on('cancelled', () => {
      session.closed = true;
      close();
    });
  }

  private onStreamMessage(session: StreamSession, msg: StreamMessageRequest): void {
    if (session.closed) return;
    switch (msg.update) {
      case 'arbitration': {
        if (this.mode === 'bluefield-dpl') {
          const e = arbitrationRefusal();
          session.send({ error: { canonical_code: e.status, message: e.message } });
          return;
        }
        const a = msg.arbitration ?? {};
        try {
          this.arbitrator.arbitrate(session, {
            deviceId: u64(a.device_id),
            role: a.role?.name ?? '',
            electionId: electionId(a.election_id),
            hasRoleConfig: a.role?.config !== undefined,
          });
        } catch (err) {
          this.sessions.delete(session);
          session.fail(asSoftnicError(err));
        }
        return;
      }
      case 'packet':
        // Only the primary's PacketOuts reach the data plane (as in PI); others are ignored.
        if (this.arbitrator.isPrimaryPeer(session) || this.dplController === session)
          this.packetOut(session, msg);
        return;
      case 'digest_ack': {
        const pipeline = this.pipelines.committed;
        const ack = msg.digest_ack ?? {};
        if (pipeline && this.arbitrator.isPrimaryPeer(session))
          pipeline.digests.ack(ack.digest_id ?? 0, u64(ack.list_id));
        return;
      }
      default:
        return;
    }
  }

  private packetOut(session: StreamSession, msg: StreamMessageRequest): void {
    const pipeline = this.pipelines.committed;
    const packet = msg.packet ?? {};
    if (pipeline === undefined || (this.processor === undefined && this.packetOutListeners.length === 0))
      return;
    const state = pipeline.state;
    const payload = packet.payload ? Buffer.from(packet.payload) : Buffer.alloc(0);
    let metadata: Map<number, bigint>;
    try {
      metadata = packetOutMetadata(state, packet.metadata ?? []);
      this.processor?.packetOut(payload, metadata, state);
      for (const l of [...this.packetOutListeners]) l(payload, metadata, state);
    } catch (err) {
      // §16.6: errors about a stream message go back on the stream, naming the message.
      const e =
        err instanceof P4ValueError
          ? new SoftnicError(grpc.status.INVALID_ARGUMENT, 'BAD_DATA', err.message)
          : asSoftnicError(err);
      session.send({
        error: { canonical_code: e.status, message: e.message, packet_out: { packet_out: packet } },
      });
    }
  }

  /** Sends a data-plane output to the primary of every role (§16.1, §16.3). */
  private broadcast(msg: { packet: PacketIn } | { digest: DigestList }): void {
    if (this.mode === 'bluefield-dpl') this.dplController?.send(msg);
    else for (const peer of this.arbitrator.primaries()) (peer as StreamSession).send(msg);
  }
}

function packetOutMetadata(
  state: PipelineState,
  list: readonly { metadata_id?: number; value?: Buffer }[],
): Map<number, bigint> {
  const header = state.p4info.packetMetadata.find('packet_out');
  const out = new Map<number, bigint>();
  for (const m of list) {
    const id = m.metadata_id ?? 0;
    const field = header?.metadataById.get(id);
    if (field === undefined) {
      throw new SoftnicError(
        grpc.status.INVALID_ARGUMENT,
        'UNKNOWN_ID',
        `packet_out has no metadata id ${id}`,
      );
    }
    out.set(
      id,
      decodeUnsigned(
        m.value ?? Buffer.alloc(0),
        field.bitwidth,
        `packet_out '${field.name}'`,
        'INVALID_ARGUMENT',
      ),
    );
  }
  return out;
}

function serverCredentials(tls: SoftnicTlsOptions | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  if (tls.requireClientCert && tls.ca === undefined) {
    throw new SoftnicStartError(
      'BAD_OPTIONS',
      'requireClientCert needs the ca that issues client certificates',
    );
  }
  return grpc.ServerCredentials.createSsl(
    tls.ca ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.requireClientCert ?? false,
  );
}
