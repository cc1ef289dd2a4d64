// nicguard's P4Runtime client for one device: connection, arbitration, pipeline, writes, reads
// and stream messages, in the contract's terms (EntrySpec and friends). It knows nothing of
// policies; the planner and the reconciler drive it.
//
//   const nic = await DeviceClient.connect({
//     address: 'dpu:9559', deviceId: 1n, electionId: 10n, profile: 'bmv2',
//     tls: { ca, cert, key },                     // or insecure: true, never implied
//   });
//   nic.on('demoted', ...); nic.on('reconnected', ...);   // re-read and reconcile on reconnect
//   await nic.ensurePipeline({ p4info, deviceConfig });
//   await nic.write(entries.map((entry) => ({ type: 'INSERT', entry })));
//   const back = await nic.readTableEntries('acl_v4', { counters: true });
//   nic.close();

import { createHash } from 'crypto';
import { EventEmitter } from 'events';
import * as grpc from '@grpc/grpc-js';
import type { Atomicity, ProfileName, TargetProfile } from '../pipeline/profiles';
import { profileByName } from '../pipeline/profiles';
import type { EntrySpec, RegisterCellSpec } from '../pipeline/entries';
import { electionIdValue, toUint128, type ArbitrationOutcome, type ElectionIdInput } from './arbitration';
import {
  createStub,
  MAX_UPDATES_PER_BATCH,
  waitConnected,
  diagnose,
  type ChannelSettings,
  type TlsOptions,
} from './connection';
import { codecFor, type CounterCell, type EntityCodec, type MeterReading } from './entities';
import {
  ClientOptionsError,
  NotPrimaryError,
  P4RuntimeClientError,
  RpcError,
  statusName,
  UnsupportedByProfileError,
  WriteError,
  type WriteFailure,
} from './errors';
import { P4InfoIndex } from './p4info';
import { encodeMessage, type Entity, type P4Info, type P4RuntimeClient, type Uint128 } from './proto';
import {
  counterReading,
  countersQuery,
  meterReading,
  metersQuery,
  readEach,
  registerReading,
  registersQuery,
  tableEntriesQuery,
  tableEntryReading,
  type TableEntryReading,
} from './read';
import {
  encodePacketMetadata,
  StreamChannel,
  type BackoffSettings,
  type DigestListEvent,
  type StreamEvents,
} from './stream';
import {
  batchFailures,
  checkAtomicity,
  checkProfile,
  describeFailures,
  encodeUpdates,
  planBatches,
  writeRequestHeader,
  type WriteOp,
} from './write';

export interface ClientOptions {
  /** host:port of the device's P4Runtime server. */
  readonly address: string;
  /** The device's id; never 0 (P4Runtime §5). */
  readonly deviceId: bigint | number | string;
  /**
   * Election id for arbitration (P4Runtime §5): the highest live one is primary. Leave it unset
   * only for a standby that must never become primary (§16.2.1).
   */
  readonly electionId?: ElectionIdInput;
  /** Role name; default role when empty. */
  readonly role?: string;
  /** What the target supports; default bmv2. */
  readonly profile?: TargetProfile | ProfileName;
  /** The program's P4Info, needed for anything in EntrySpec terms; ensurePipeline also sets it. */
  readonly p4info?: P4InfoIndex;
  readonly tls?: TlsOptions;
  /** Plaintext: only when set explicitly, never as a fallback. */
  readonly insecure?: boolean;
  /** Connecting and arbitrating, each; default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Deadline of each Write batch; default 60 s. A Write without a deadline could wait forever. */
  readonly writeTimeoutMs?: number;
  /** Deadline of Reads and pipeline RPCs; default 60 s. */
  readonly rpcTimeoutMs?: number;
  /** Stream reconnection; default 100 ms doubling to 10 s. false: no reconnection. */
  readonly reconnect?: Partial<BackoffSettings> | false;
  /** Updates per Write; default 256, at most MAX_UPDATES_PER_BATCH (the error trailer must fit, §12.3). */
  readonly maxUpdatesPerBatch?: number;
  /** Bytes of updates per Write; default 4 MiB less 64 KiB (the receive limit servers keep by default). */
  readonly maxBatchBytes?: number;
  readonly maxReceiveMessageBytes?: number;
  readonly keepaliveTimeMs?: number;
  readonly channelOptions?: grpc.ChannelOptions;
}

export interface WriteOptions {
  /** P4Runtime §12.2; refused locally when the profile does not list it. Default CONTINUE_ON_ERROR. */
  readonly atomicity?: Atomicity;
}

export interface WriteSummary {
  readonly updates: number;
  readonly batches: number;
}

/** Per-update result in the shape the planner's DeviceWriter expects. */
export interface UpdateResult {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

export interface PipelineConfigInput {
  readonly p4info: P4InfoIndex | P4Info;
  /** Target-specific config (bmv2 JSON bytes); may be empty for targets that need none. */
  readonly deviceConfig: Uint8Array;
  /** uint64 as a decimal string; derived from the content when absent (see pipelineCookie). */
  readonly cookie?: string;
}

export interface DigestConfig {
  readonly maxTimeoutNs: bigint | number;
  readonly maxListSize: number;
  readonly ackTimeoutNs: bigint | number;
}

export type DigestHandler = (list: DigestListEvent) => void | Promise<void>;

export interface ClientEvents extends StreamEvents {
  /** A digest handler threw: the list was not acked, so the device may send it again. */
  handlerError: [Error, DigestListEvent];
}

const WRITE_PATH = '/p4.v1.P4Runtime/Write';
const passThrough = (b: Buffer): Buffer => b;
const ignoreResponse = (): Record<string, never> => ({});

const FORWARDED_EVENTS: readonly (keyof StreamEvents)[] = [
  'primary',
  'backup',
  'demoted',
  'disconnected',
  'reconnecting',
  'reconnected',
  'packetIn',
  'idleTimeout',
  'streamError',
  'decodeError',
];

/**
 * Cookie identifying a pipeline config (P4Runtime §14): the first 64 bits of SHA-256 over the
 * P4Info's protobuf encoding and the device config, as a decimal uint64.
 */
export function pipelineCookie(p4info: P4Info, deviceConfig: Uint8Array): string {
  const info = encodeMessage('p4.config.v1.P4Info', p4info);
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(info.length));
  const digest = createHash('sha256').update(length).update(info).update(deviceConfig).digest();
  return digest.readBigUInt64BE(0).toString();
}

export class DeviceClient extends EventEmitter<ClientEvents> {
  readonly profile: TargetProfile;
  readonly deviceId: bigint;
  readonly role: string;
  readonly electionId: bigint | undefined;
  private index: P4InfoIndex | undefined;
  private readonly stream: StreamChannel;
  private readonly digestHandlers: DigestHandler[] = [];
  private readonly electionWire: Uint128 | undefined;
  private closed = false;

  private constructor(
    private readonly stub: P4RuntimeClient,
    private readonly settings: ChannelSettings,
    private readonly options: ClientOptions,
    profile: TargetProfile,
    deviceId: bigint,
    electionId: bigint | undefined,
    private readonly limits: { maxUpdates: number; maxBytes: number },
  ) {
    super();
    this.profile = profile;
    this.deviceId = deviceId;
    this.role = options.role ?? '';
    this.electionId = electionId;
    this.index = options.p4info;
    this.electionWire = profile.arbitration && electionId !== undefined ? toUint128(electionId) : undefined;
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const reconnect =
      options.reconnect === false
        ? false
        : { initialMs: 100, maxMs: 10_000, multiplier: 2, ...options.reconnect };
    this.stream = new StreamChannel(
      {
        deviceId,
        role: this.role,
        electionId,
        arbitration: profile.arbitration,
        reconnect,
        connectTimeoutMs,
      },
      {
        waitConnected: (timeoutMs) => waitConnected(stub, settings, timeoutMs),
        openStream: () => stub.StreamChannel(),
      },
      () => (this.index ? codecFor(this.index) : undefined),
    );
    for (const name of FORWARDED_EVENTS) {
      this.stream.on(name, (...args: unknown[]) =>
        (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args),
      );
    }
    this.stream.on('digest', (list) => void this.onDigestList(list));
  }

  /**
   * Connects, opens the stream and arbitrates. Resolves once the device has answered the
   * arbitration (as primary or backup); rejects with ConnectionError (unreachable, TLS),
   * ArbitrationError (e.g. election id already in use) or ClientOptionsError.
   */
  static async connect(options: ClientOptions): Promise<DeviceClient> {
    const profile =
      typeof options.profile === 'object' ? options.profile : profileByName(options.profile ?? 'bmv2');
    let deviceId: bigint;
    try {
      deviceId = BigInt(options.deviceId);
    } catch {
      throw new ClientOptionsError(`device id ${String(options.deviceId)} is not an integer`);
    }
    if (deviceId <= 0n || deviceId >= 1n << 64n) {
      throw new ClientOptionsError(`device id ${deviceId} is not a non-zero uint64 (P4Runtime §5)`);
    }
    const electionId = options.electionId === undefined ? undefined : electionIdValue(options.electionId);
    const maxUpdates = options.maxUpdatesPerBatch ?? 256;
    if (!Number.isInteger(maxUpdates) || maxUpdates < 1 || maxUpdates > MAX_UPDATES_PER_BATCH) {
      throw new ClientOptionsError(
        `maxUpdatesPerBatch ${maxUpdates} must be 1..${MAX_UPDATES_PER_BATCH}: every update may add a p4.v1.Error to the response trailer, whose size the transport bounds (P4Runtime §12.3)`,
      );
    }
    const maxBytes = options.maxBatchBytes ?? 4 * 1024 * 1024 - 64 * 1024;
    const reconnect = options.reconnect === false ? undefined : options.reconnect;
    const settings: ChannelSettings = {
      address: options.address,
      tls: options.tls,
      insecure: options.insecure,
      maxReceiveMessageBytes: options.maxReceiveMessageBytes,
      maxUpdatesPerBatch: maxUpdates,
      reconnectInitialMs: reconnect?.initialMs ?? 100,
      reconnectMaxMs: reconnect?.maxMs ?? 10_000,
      keepaliveTimeMs: options.keepaliveTimeMs,
      channelOptions: options.channelOptions,
    };
    const stub = createStub(settings);
    const client = new DeviceClient(stub, settings, options, profile, deviceId, electionId, {
      maxUpdates,
      maxBytes,
    });
    try {
      await client.stream.open();
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  // ------------------------------------------------------------ state

  /** Whether writes may go out now: a live stream on which the device named us primary. */
  get isPrimary(): boolean {
    return this.stream.state === 'primary';
  }

  get state(): 'primary' | 'backup' | 'disconnected' {
    return this.stream.state;
  }

  /** The device's last arbitration notification (undefined on targets without arbitration). */
  get arbitration(): ArbitrationOutcome | undefined {
    return this.stream.arbitration;
  }

  get p4info(): P4InfoIndex | undefined {
    return this.index;
  }

  /** Use this P4Info for translation from now on (e.g. a pipeline installed by someone else). */
  setP4Info(p4info: P4InfoIndex): void {
    this.index = p4info;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
    this.stub.close();
  }

  private codec(): EntityCodec {
    if (!this.index) {
      throw new P4RuntimeClientError(
        'NO_P4INFO',
        'no P4Info known: pass p4info to connect() or call ensurePipeline()',
      );
    }
    return codecFor(this.index);
  }

  private requireOpen(): void {
    if (this.closed) throw new P4RuntimeClientError('CLOSED', 'the client was closed');
  }

  private requirePrimary(what: string): void {
    this.requireOpen();
    const state = this.stream.state;
    if (state === 'primary') return;
    throw new NotPrimaryError(
      state === 'backup'
        ? `${what} refused: this client (election id ${this.electionId ?? 'unset'}) is a backup for device ${this.deviceId}${this.role ? ` role '${this.role}'` : ''}`
        : `${what} refused: no live stream to device ${this.deviceId} (reconnecting)`,
      state,
    );
  }

  private refuse(operation: string, why: string): never {
    throw new UnsupportedByProfileError(
      this.profile.name,
      operation,
      `target profile '${this.profile.name}' ${why}`,
    );
  }

  private deadline(ms: number | undefined, fallback: number): Date {
    return new Date(Date.now() + (ms ?? fallback));
  }

  private unary<Req, Res>(
    method: string,
    call: (
      req: Req,
      md: grpc.Metadata,
      opts: Partial<grpc.CallOptions>,
      cb: grpc.requestCallback<Res>,
    ) => unknown,
    request: Req,
    timeoutMs?: number,
  ): Promise<Res> {
    this.requireOpen();
    return new Promise((resolve, reject) => {
      call.call(
        this.stub,
        request,
        new grpc.Metadata(),
        { deadline: this.deadline(timeoutMs, this.options.rpcTimeoutMs ?? 60_000) },
        (err: grpc.ServiceError | null, res?: Res) => {
          if (err) reject(this.rpcError(method, err));
          else resolve(res as Res);
        },
      );
    });
  }

  private rpcError(method: string, err: grpc.ServiceError): RpcError | NotPrimaryError {
    if (err.code === grpc.status.PERMISSION_DENIED) {
      return new NotPrimaryError(
        `${method}: the device says this client is not primary: ${err.details}`,
        'device',
      );
    }
    return new RpcError(method, err.code, err.details);
  }

  // ------------------------------------------------------------ liveness

  /**
   * Liveness by an application call with a deadline: Capabilities, or an empty Read on targets
   * without it. Any answer from the device proves it alive, even an error status; only the
   * transport's own failures (UNAVAILABLE, DEADLINE_EXCEEDED) count as dead. Resolves with the
   * round-trip time in ms.
   */
  async ping(timeoutMs = 5_000): Promise<number> {
    this.requireOpen();
    const started = process.hrtime.bigint();
    const deadline = this.deadline(timeoutMs, timeoutMs);
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      if (this.profile.capabilitiesRpc) {
        this.stub.Capabilities(
          { device_id: this.deviceId.toString() },
          new grpc.Metadata(),
          { deadline },
          (e) => resolve(e),
        );
      } else {
        const call = this.stub.Read({ device_id: this.deviceId.toString() }, new grpc.Metadata(), {
          deadline,
        });
        call.on('data', () => undefined);
        call.on('error', (e: grpc.ServiceError) => resolve(e));
        call.on('end', () => resolve(null));
      }
    });
    if (err && (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED)) {
      if (err.code === grpc.status.UNAVAILABLE) throw await diagnose(this.stub, this.settings, timeoutMs);
      throw new RpcError(this.profile.capabilitiesRpc ? 'Capabilities' : 'Read', err.code, err.details);
    }
    return Number(process.hrtime.bigint() - started) / 1e6;
  }

  /** The device's P4Runtime API version (Capabilities RPC, P4Runtime §17). */
  async capabilities(): Promise<{ apiVersion: string }> {
    if (!this.profile.capabilitiesRpc) this.refuse('Capabilities', 'has no Capabilities RPC');
    const res = await this.unary('Capabilities', this.stub.Capabilities, {
      device_id: this.deviceId.toString(),
    });
    return { apiVersion: res.p4runtime_api_version ?? '' };
  }

  // ------------------------------------------------------------ pipeline (§14, §15)

  /** The installed pipeline's cookie (COOKIE_ONLY), or undefined when none is installed or it has none. */
  async getPipelineCookie(): Promise<string | undefined> {
    let res;
    try {
      res = await this.unary('GetForwardingPipelineConfig', this.stub.GetForwardingPipelineConfig, {
        device_id: this.deviceId.toString(),
        response_type: 'COOKIE_ONLY',
      });
    } catch (err) {
      // §15 answers "no config yet" with an unset config; PI-derived servers answer FAILED_PRECONDITION.
      if (err instanceof RpcError && err.status === 'FAILED_PRECONDITION') return undefined;
      throw err;
    }
    const config = res.config;
    if (!config || !config.cookie) return undefined;
    return config.cookie.cookie ?? '0';
  }

  /**
   * Installs the pipeline with VERIFY_AND_COMMIT when the device's cookie differs from ours (or
   * with `force`). VERIFY_AND_COMMIT clears forwarding state (§14), so an unchanged pipeline is
   * never pushed again. Also makes this P4Info the client's translation model.
   */
  async ensurePipeline(
    config: PipelineConfigInput,
    options: { force?: boolean } = {},
  ): Promise<{ pushed: boolean; cookie: string }> {
    const index =
      config.p4info instanceof P4InfoIndex ? config.p4info : P4InfoIndex.fromMessage(config.p4info);
    const cookie = config.cookie ?? pipelineCookie(index.message, config.deviceConfig);
    if (!/^\d+$/.test(cookie) || BigInt(cookie) >= 1n << 64n) {
      throw new ClientOptionsError(`pipeline cookie ${cookie} is not a uint64 in decimal`);
    }
    if (!options.force && (await this.getPipelineCookie()) === cookie) {
      this.index = index;
      return { pushed: false, cookie };
    }
    this.requirePrimary('SetForwardingPipelineConfig');
    const request = {
      device_id: this.deviceId.toString(),
      role: this.role || undefined,
      election_id: this.electionWire,
      action: 'VERIFY_AND_COMMIT' as const,
      config: {
        p4info: index.message,
        p4_device_config: Buffer.from(config.deviceConfig),
        cookie: { cookie },
      },
    };
    await this.unary('SetForwardingPipelineConfig', this.stub.SetForwardingPipelineConfig, request);
    this.index = index;
    return { pushed: true, cookie };
  }

  // ------------------------------------------------------------ write (§12)

  /**
   * Writes the updates in as many Write RPCs as the limits need, in order, one at a time. Local
   * refusals (profile, not primary, values that do not encode) happen before anything is sent.
   * Rejected updates come back together in one WriteError naming each by its index in `ops`.
   */
  async write(ops: readonly WriteOp[], options: WriteOptions = {}): Promise<WriteSummary> {
    const atomicity = options.atomicity ?? 'CONTINUE_ON_ERROR';
    checkAtomicity(this.profile, atomicity);
    for (const op of ops) checkProfile(this.profile, op);
    this.requirePrimary('Write');
    if (ops.length === 0) return { updates: 0, batches: 0 };
    const encoded = encodeUpdates(ops, this.codec());
    const batches = planBatches(encoded.offsets, this.limits);
    const header = writeRequestHeader(this.deviceId, this.role, this.electionWire, atomicity);
    const failures: WriteFailure<WriteOp>[] = [];
    let sent = 0;
    // Ends the write early; `from` is the first update that was not sent.
    const stop = (stoppedBy: RpcError | NotPrimaryError, from: number): never => {
      if (sent === 0 && failures.length === 0 && stoppedBy instanceof NotPrimaryError) throw stoppedBy;
      throw new WriteError(
        `write stopped with ${ops.length - from} of ${ops.length} updates not sent: ${stoppedBy.message}` +
          (failures.length > 0 ? `\n${describeFailures(failures, ops.length)}` : ''),
        failures,
        sent,
        ops.length - from,
        stoppedBy,
      );
    };
    for (const batch of batches) {
      if (!this.isPrimary) {
        try {
          this.requirePrimary('Write');
        } catch (err) {
          stop(err as NotPrimaryError, batch.start);
        }
      }
      const body = encoded.bytes.subarray(encoded.offsets[batch.start], encoded.offsets[batch.end]);
      const err = await this.sendWrite(Buffer.concat([header, body], header.length + body.length));
      if (!err) {
        sent += batch.end - batch.start;
        continue;
      }
      const sentBefore = sent;
      sent += batch.end - batch.start;
      const perUpdate = err.code === grpc.status.UNKNOWN ? batchFailures(err, batch, ops) : undefined;
      if (perUpdate) {
        failures.push(...perUpdate);
        // Non-default atomicity: the failed batch was rolled back or never applied; stop there.
        if (atomicity !== 'CONTINUE_ON_ERROR') stop(new RpcError('Write', err.code, err.details), batch.end);
        continue;
      }
      // A failure of the whole batch: each of its updates shares it; the outcome of a batch that
      // hit its deadline is unknown, which a read-back settles.
      const whole = this.rpcError('Write', err);
      // Refused as a whole before anything was applied: the error itself is the clearest answer.
      if (sentBefore === 0 && failures.length === 0 && whole instanceof NotPrimaryError) throw whole;
      for (let i = batch.start; i < batch.end; i++) {
        failures.push({
          index: i,
          canonicalCode: err.code,
          status: statusName(err.code),
          message: err.details,
          update: ops[i],
        });
      }
      stop(whole, batch.end);
    }
    if (failures.length > 0) throw new WriteError(describeFailures(failures, ops.length), failures, sent, 0);
    return { updates: ops.length, batches: batches.length };
  }

  /** Like write(), but reports every update's outcome instead of throwing for device rejections. */
  async writeBatch(ops: readonly WriteOp[], options: WriteOptions = {}): Promise<UpdateResult[]> {
    try {
      await this.write(ops, options);
      return ops.map(() => ({ ok: true }));
    } catch (err) {
      if (!(err instanceof WriteError)) throw err;
      const results: UpdateResult[] = ops.map(() => ({ ok: true }));
      const notSentFrom = ops.length - err.notSent;
      for (let i = notSentFrom; i < ops.length; i++) {
        results[i] = { ok: false, code: 'ABORTED', message: 'not sent: the write stopped earlier' };
      }
      for (const f of err.failures as readonly WriteFailure<WriteOp>[]) {
        results[f.index] = { ok: false, code: f.status, message: f.message };
      }
      return results;
    }
  }

  private sendWrite(request: Buffer): Promise<grpc.ServiceError | null> {
    return new Promise((resolve) => {
      this.stub.makeUnaryRequest(
        WRITE_PATH,
        passThrough,
        ignoreResponse,
        request,
        new grpc.Metadata(),
        { deadline: this.deadline(this.options.writeTimeoutMs, 60_000) },
        (err) => resolve(err),
      );
    });
  }

  // ------------------------------------------------------------ read (§13)

  private read<T>(
    entities: Entity[],
    decode: (codec: EntityCodec, e: Entity) => T | undefined,
  ): Promise<T[]> {
    this.requireOpen();
    const codec = this.codec();
    return readEach(
      this.stub,
      { device_id: this.deviceId.toString(), role: this.role || undefined, entities },
      this.options.rpcTimeoutMs ?? 60_000,
      (e) => decode(codec, e),
    );
  }

  /** Every entry of one table (by name or alias), or of all tables; with direct counters when asked. */
  readTableEntries(table?: string, options: { counters?: boolean } = {}): Promise<TableEntryReading[]> {
    return this.read([tableEntriesQuery(this.codec(), table, options.counters ?? false)], tableEntryReading);
  }

  /**
   * Direct counter of every entry of a table, with the whole entry. Read as table entries with
   * counter_data (P4Runtime §9.1.7) rather than as DirectCounterEntry (§9.3.1): there the server
   * needs to return only the entry's key, and bmv2's (PI) returns no action, while telemetry and
   * quota enforcement tell rules apart by the action and its rule_id.
   */
  readDirectCounters(table: string): Promise<TableEntryReading[]> {
    return this.readTableEntries(table, { counters: true });
  }

  /**
   * The given entries as the device holds them, with their direct counters, in one Read: each is
   * designated by its match and priority (P4Runtime §9.1.6: a full key reads at most one entry).
   * Entries the device does not hold are simply absent from the answer.
   */
  readEntriesWithCounters(entries: readonly EntrySpec[]): Promise<TableEntryReading[]> {
    if (entries.length === 0) return Promise.resolve([]);
    const codec = this.codec();
    return this.read(
      entries.map((spec) => {
        const { table_id, match, priority } = codec.toTableEntry(spec);
        return { table_entry: { table_id, match, priority, counter_data: {} } };
      }),
      tableEntryReading,
    );
  }

  /** Chosen cells of an indexed counter, in one Read of one CounterEntry per index (§9.3.2). */
  readCounterCells(counter: string, indices: readonly number[]): Promise<CounterCell[]> {
    if (indices.length === 0) return Promise.resolve([]);
    const codec = this.codec();
    return this.read(
      indices.map((i) => countersQuery(codec, counter, i)),
      counterReading,
    );
  }

  /** One cell of an indexed counter, or all of them without an index (P4Runtime §9.3.2). */
  readCounters(counter: string, index?: number): Promise<CounterCell[]> {
    return this.read([countersQuery(this.codec(), counter, index)], counterReading);
  }

  async readRegisters(register: string, index?: number): Promise<RegisterCellSpec[]> {
    if (!this.profile.registerAccess) this.refuse('register read', 'has no register access over P4Runtime');
    return this.read([registersQuery(this.codec(), register, index)], registerReading);
  }

  readMeters(meter: string, index?: number): Promise<MeterReading[]> {
    return this.read([metersQuery(this.codec(), meter, index)], meterReading);
  }

  // ------------------------------------------------------------ stream messages (§16)

  /** Enables (or reconfigures) digest generation for a digest (DigestEntry, P4Runtime §9.8). */
  async configureDigest(digest: string, config: DigestConfig): Promise<void> {
    if (!this.profile.digests) this.refuse('digest configuration', 'has no digests');
    const info = this.codec().p4info.digests.get(digest);
    const entity = {
      digest_entry: {
        digest_id: info.id,
        config: {
          max_timeout_ns: BigInt(config.maxTimeoutNs).toString(),
          max_list_size: config.maxListSize,
          ack_timeout_ns: BigInt(config.ackTimeoutNs).toString(),
        },
      },
    };
    try {
      await this.write([{ type: 'INSERT', entity }]);
    } catch (err) {
      // INSERT enables, MODIFY changes an enabled digest; which one applies depends on the device's state.
      if (
        err instanceof WriteError &&
        err.failures.length === 1 &&
        err.failures[0].status === 'ALREADY_EXISTS'
      ) {
        await this.write([{ type: 'MODIFY', entity }]);
        return;
      }
      throw err;
    }
  }

  /**
   * Calls `handler` for every digest list, then acknowledges it (DigestListAck, P4Runtime §16.3).
   * A list whose handler throws is not acknowledged (the device may resend it after
   * ack_timeout_ns) and is reported as 'handlerError'. Without handlers, lists are acknowledged on
   * arrival. Returns a function that removes the handler.
   */
  onDigest(handler: DigestHandler): () => void {
    this.digestHandlers.push(handler);
    return () => {
      const i = this.digestHandlers.indexOf(handler);
      if (i >= 0) this.digestHandlers.splice(i, 1);
    };
  }

  private async onDigestList(list: DigestListEvent): Promise<void> {
    this.emit('digest', list);
    try {
      for (const handler of [...this.digestHandlers]) await handler(list);
    } catch (err) {
      this.emit('handlerError', err instanceof Error ? err : new Error(String(err)), list);
      return;
    }
    this.stream.send({ digest_ack: { digest_id: list.digestId, list_id: list.listId.toString() } });
  }

  /** Sends a frame into the data plane through the CPU port (PacketOut, P4Runtime §16.1). */
  sendPacketOut(payload: Uint8Array, metadata: Readonly<Record<string, bigint | number>> = {}): void {
    if (!this.profile.packetIo) this.refuse('PacketOut', 'has no packet I/O');
    this.requirePrimary('PacketOut');
    const packet = {
      payload: Buffer.from(payload),
      metadata: encodePacketMetadata(this.codec().p4info, 'packet_out', metadata),
    };
    this.stream.send({ packet });
  }
}
