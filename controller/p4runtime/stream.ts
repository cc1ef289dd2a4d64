// The StreamChannel session (P4Runtime §16): arbitration on open and on every notification (§5),
// reconnection when the stream breaks, and the device's stream messages (digest lists, PacketIn,
// idle-timeout notifications, stream errors) decoded through the P4Info model.
//
// A stream is the session: when it breaks nothing is resumed. The channel reopens it with
// exponential backoff, arbitrates again with the same election id, and reports 'reconnected' so
// that its owner re-reads the device and reconciles.

import { EventEmitter } from 'events';
import type * as grpc from '@grpc/grpc-js';
import type { EntrySpec } from '../pipeline/entries';
import { readArbitration, toUint128, transitions, type ArbitrationOutcome } from './arbitration';
import { toBigInt64, type EntityCodec } from './entities';
import { ArbitrationError, P4RuntimeClientError, statusName } from './errors';
import type { P4InfoIndex, ResolvedType } from './p4info';
import type {
  DigestList,
  MasterArbitrationUpdate,
  P4Data,
  PacketMetadata,
  StreamMessageRequest,
  StreamMessageResponse,
} from './proto';
import { decodeUnsigned, encodeUnsigned } from './values';

// ---------------------------------------------------------------- events

/** A digest list from the device, its members named as in the digest's P4 type (P4Runtime §16.3). */
export interface DigestListEvent {
  readonly digest: string;
  readonly digestId: number;
  readonly listId: bigint;
  /** Device time in ns, when given. */
  readonly timestamp: bigint;
  /** One record per digest message; struct members by name, nested ones as "outer.inner". */
  readonly data: readonly Readonly<Record<string, bigint>>[];
}

export interface PacketInEvent {
  readonly payload: Buffer;
  /** packet_in header fields by P4Info name. */
  readonly metadata: Readonly<Record<string, bigint>>;
}

/** Entries whose idle timeout expired (P4Runtime §9.1.8, §16.4). */
export interface IdleTimeoutEvent {
  readonly entries: readonly EntrySpec[];
  readonly timestamp: bigint;
}

/** A StreamError from the device about one of our stream messages (P4Runtime §16.6). */
export interface StreamErrorEvent {
  readonly status: string;
  readonly canonicalCode: number;
  readonly message: string;
  readonly space?: string;
  readonly code?: number;
  /** Which of our messages it is about. */
  readonly about?: 'packet_out' | 'digest_list_ack' | 'other';
}

export interface ReconnectingEvent {
  readonly attempt: number;
  readonly delayMs: number;
  readonly lastError?: Error;
}

/** After a reconnect: the new session's standing. Streams are not resumed: re-read and reconcile. */
export interface ReconnectedEvent {
  readonly primary: boolean;
  readonly arbitration?: ArbitrationOutcome;
}

export interface StreamEvents {
  primary: [ArbitrationOutcome];
  backup: [ArbitrationOutcome];
  demoted: [ArbitrationOutcome];
  disconnected: [Error];
  reconnecting: [ReconnectingEvent];
  reconnected: [ReconnectedEvent];
  digest: [DigestListEvent];
  packetIn: [PacketInEvent];
  idleTimeout: [IdleTimeoutEvent];
  streamError: [StreamErrorEvent];
  /** A stream message that could not be decoded (unknown id, bad width): reported, not fatal. */
  decodeError: [Error];
}

// ---------------------------------------------------------------- settings

export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

export interface StreamSettings {
  readonly deviceId: bigint;
  readonly role: string;
  /** Undefined: never primary (P4Runtime §16.2.1, unset election id). */
  readonly electionId: bigint | undefined;
  /** False for targets without MasterArbitrationUpdate: nothing is sent, the session counts as primary. */
  readonly arbitration: boolean;
  /** False: a broken stream stays broken. */
  readonly reconnect: BackoffSettings | false;
  readonly connectTimeoutMs: number;
}

export interface StreamTransport {
  /** Resolves once the channel is connected, or rejects with a ConnectionError. */
  waitConnected(timeoutMs: number): Promise<void>;
  openStream(): grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>;
}

type Call = grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>;

// ---------------------------------------------------------------- channel

export class StreamChannel extends EventEmitter<StreamEvents> {
  private call: Call | undefined;
  private primary: boolean | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private wakeReconnect: (() => void) | undefined;
  private lastOutcome: ArbitrationOutcome | undefined;

  constructor(
    private readonly settings: StreamSettings,
    private readonly transport: StreamTransport,
    /** The current P4Info's codec, or undefined before one is known. */
    private readonly codec: () => EntityCodec | undefined,
  ) {
    super();
  }

  /** 'primary' when writes may go out, 'backup' when another controller is primary, 'disconnected' without a live stream. */
  get state(): 'primary' | 'backup' | 'disconnected' {
    if (this.call === undefined) return 'disconnected';
    return this.primary === true ? 'primary' : 'backup';
  }

  /** The last arbitration notification received. */
  get arbitration(): ArbitrationOutcome | undefined {
    return this.lastOutcome;
  }

  /** Opens the stream and arbitrates; resolves with the outcome (undefined without arbitration). */
  async open(): Promise<ArbitrationOutcome | undefined> {
    if (this.closed) throw new P4RuntimeClientError('CLOSED', 'the stream channel was closed');
    return this.attempt();
  }

  /** Sends a message on the live stream; false when there is none. */
  send(msg: StreamMessageRequest): boolean {
    const call = this.call;
    if (!call) return false;
    call.write(msg);
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.wakeReconnect?.();
    const call = this.call;
    this.call = undefined;
    this.primary = undefined;
    if (call) {
      call.end();
      call.cancel();
    }
  }

  private arbitrationRequest(): StreamMessageRequest {
    const s = this.settings;
    const arbitration: MasterArbitrationUpdate = { device_id: s.deviceId.toString() };
    if (s.role !== '') arbitration.role = { name: s.role };
    if (s.electionId !== undefined) arbitration.election_id = toUint128(s.electionId);
    return { arbitration };
  }

  /** One session: connect, open the stream, send our arbitration, wait for the device's answer. */
  private async attempt(): Promise<ArbitrationOutcome | undefined> {
    const s = this.settings;
    await this.transport.waitConnected(s.connectTimeoutMs);
    if (this.closed) throw new P4RuntimeClientError('CLOSED', 'the stream channel was closed');
    const call = this.transport.openStream();
    return new Promise<ArbitrationOutcome | undefined>((resolve, reject) => {
      let pending = true;
      const timer = setTimeout(() => {
        if (!pending) return;
        pending = false;
        call.cancel();
        reject(new ArbitrationError(`no arbitration answer from the device within ${s.connectTimeoutMs} ms`));
      }, s.connectTimeoutMs);
      const settle = (outcome: ArbitrationOutcome | undefined) => {
        if (!pending) return;
        pending = false;
        clearTimeout(timer);
        this.call = call;
        resolve(outcome);
      };
      const broken = (err: Error) => {
        if (pending) {
          pending = false;
          clearTimeout(timer);
          const code = (err as Partial<grpc.ServiceError>).code;
          const status = code === undefined ? undefined : statusName(code);
          reject(
            new ArbitrationError(
              `the device ended the stream during arbitration${status ? ` with ${status}` : ''}: ${err.message}`,
              status,
            ),
          );
          return;
        }
        this.onBroken(call, err);
      };
      call.on('data', (msg: StreamMessageResponse) => {
        if (msg.update === 'arbitration' || (msg.arbitration && !msg.update)) {
          const outcome = readArbitration(msg.arbitration ?? {});
          const first = pending;
          settle(outcome);
          if (this.call === call) this.applyArbitration(outcome, first);
          return;
        }
        if (this.call === call) this.onMessage(msg);
      });
      call.on('error', (err: Error) => broken(err));
      call.on('end', () => broken(new Error('the device closed the stream')));
      if (s.arbitration) {
        call.write(this.arbitrationRequest());
      } else {
        settle(undefined);
        this.primary = true;
      }
    });
  }

  private applyArbitration(outcome: ArbitrationOutcome, first: boolean): void {
    this.lastOutcome = outcome;
    const before = first ? undefined : this.primary;
    this.primary = outcome.primary;
    for (const event of transitions(before, outcome.primary)) this.emit(event, outcome);
  }

  private onBroken(call: Call, err: Error): void {
    if (call !== this.call) return;
    this.call = undefined;
    this.primary = undefined;
    if (this.closed) return;
    this.emit('disconnected', err);
    if (this.settings.reconnect) void this.reconnectLoop(this.settings.reconnect);
  }

  private async reconnectLoop(backoff: BackoffSettings): Promise<void> {
    let lastError: Error | undefined;
    for (let attempt = 1; !this.closed; attempt++) {
      const delayMs = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** (attempt - 1));
      const event: ReconnectingEvent = lastError ? { attempt, delayMs, lastError } : { attempt, delayMs };
      this.emit('reconnecting', event);
      await new Promise<void>((resolve) => {
        this.wakeReconnect = resolve;
        this.reconnectTimer = setTimeout(resolve, delayMs);
      });
      this.wakeReconnect = undefined;
      this.reconnectTimer = undefined;
      if (this.closed) return;
      try {
        const outcome = await this.attempt();
        if (this.closed) return;
        const reconnected: ReconnectedEvent = outcome
          ? { primary: outcome.primary, arbitration: outcome }
          : { primary: true };
        this.emit('reconnected', reconnected);
        return;
      } catch (err) {
        lastError = err instanceof Error ? err : new Error(String(err));
      }
    }
  }

  // ------------------------------------------------------------ stream messages

  private onMessage(msg: StreamMessageResponse): void {
    try {
      switch (msg.update) {
        case 'digest':
          this.emit('digest', decodeDigestList(msg.digest ?? {}, this.requireP4Info('a digest list')));
          return;
        case 'packet':
          this.emit('packetIn', {
            payload: Buffer.from(msg.packet?.payload ?? EMPTY),
            metadata: decodePacketMetadata(
              this.requireP4Info('a PacketIn'),
              'packet_in',
              msg.packet?.metadata ?? [],
            ),
          });
          return;
        case 'idle_timeout_notification': {
          const codec = this.codec();
          if (!codec)
            throw new P4RuntimeClientError(
              'NO_P4INFO',
              'an idle-timeout notification arrived before any P4Info was known',
            );
          const n = msg.idle_timeout_notification ?? {};
          this.emit('idleTimeout', {
            entries: (n.table_entry ?? []).map((e) => codec.fromTableEntry(e)),
            timestamp: toBigInt64(n.timestamp),
          });
          return;
        }
        case 'error': {
          const e = msg.error ?? {};
          const event: { -readonly [K in keyof StreamErrorEvent]: StreamErrorEvent[K] } = {
            status: statusName(e.canonical_code ?? 0),
            canonicalCode: e.canonical_code ?? 0,
            message: e.message ?? '',
          };
          if (e.space) event.space = e.space;
          if (e.code) event.code = e.code;
          if (e.details) event.about = e.details;
          this.emit('streamError', event);
          return;
        }
        default:
          return;
      }
    } catch (err) {
      this.emit('decodeError', err instanceof Error ? err : new Error(String(err)));
    }
  }

  private requireP4Info(what: string): P4InfoIndex {
    const codec = this.codec();
    if (!codec) throw new P4RuntimeClientError('NO_P4INFO', `${what} arrived before any P4Info was known`);
    return codec.p4info;
  }
}

const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------- digest and packet decoding

/** Decodes a DigestList through its digest's P4 type (P4Runtime §16.3, §8.4 P4Data). */
export function decodeDigestList(list: DigestList, p4info: P4InfoIndex): DigestListEvent {
  const info = p4info.digests.get(list.digest_id ?? 0);
  return {
    digest: info.name,
    digestId: info.id,
    listId: toBigInt64(list.list_id),
    timestamp: toBigInt64(list.timestamp),
    data: (list.data ?? []).map((d) => {
      const out: Record<string, bigint> = {};
      flattenP4Data(d, info.type, '', out, `digest '${info.name}'`);
      return out;
    }),
  };
}

function flattenP4Data(
  data: P4Data,
  type: ResolvedType,
  prefix: string,
  out: Record<string, bigint>,
  where: string,
): void {
  const name = prefix === '' ? 'value' : prefix;
  switch (type.kind) {
    case 'bit':
      out[name] = decodeUnsigned(data.bitstring ?? EMPTY, type.bitwidth, `${where} ${name}`);
      return;
    case 'serializable_enum':
      out[name] = decodeUnsigned(
        data.enum_value ?? data.bitstring ?? EMPTY,
        type.bitwidth,
        `${where} ${name}`,
      );
      return;
    case 'int': {
      // Signed values travel as their two's-complement bit pattern (P4Runtime §8.3).
      const raw = decodeUnsigned(data.bitstring ?? EMPTY, type.bitwidth, `${where} ${name}`);
      out[name] = BigInt.asIntN(type.bitwidth, raw);
      return;
    }
    case 'bool':
      out[name] = data.bool ? 1n : 0n;
      return;
    case 'struct': {
      const members = data.struct?.members ?? [];
      type.members.forEach((m, i) =>
        flattenP4Data(members[i] ?? {}, m.type, prefix === '' ? m.name : `${prefix}.${m.name}`, out, where),
      );
      return;
    }
    case 'header': {
      const bits = data.header?.bitstrings ?? [];
      type.members.forEach((m, i) => {
        const member = prefix === '' ? m.name : `${prefix}.${m.name}`;
        if (m.type.kind === 'bit')
          out[member] = decodeUnsigned(bits[i] ?? EMPTY, m.type.bitwidth, `${where} ${member}`);
      });
      return;
    }
    case 'tuple': {
      const members = data.tuple?.members ?? [];
      type.members.forEach((m, i) =>
        flattenP4Data(members[i] ?? {}, m, prefix === '' ? String(i) : `${prefix}.${i}`, out, where),
      );
      return;
    }
    default:
      throw new P4RuntimeClientError('BAD_RESPONSE', `${where}: member type ${type.kind} is not supported`);
  }
}

/** Named controller-header fields (P4Runtime §16.1) from PacketIn/PacketOut metadata. */
export function decodePacketMetadata(
  p4info: P4InfoIndex,
  header: 'packet_in' | 'packet_out',
  metadata: readonly PacketMetadata[],
): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const m of metadata) {
    const field = p4info.packetMetadataField(header, m.metadata_id ?? 0);
    out[field.name] = decodeUnsigned(m.value ?? EMPTY, field.bitwidth, `${header}.${field.name}`);
  }
  return out;
}

/**
 * PacketOut metadata: exactly one entry per packet_out field, as §16.1 requires. Fields not given
 * are sent as zero (padding fields, typically); unknown names are refused.
 */
export function encodePacketMetadata(
  p4info: P4InfoIndex,
  header: 'packet_in' | 'packet_out',
  values: Readonly<Record<string, bigint | number>>,
): PacketMetadata[] {
  const h = p4info.packetMetadata.get(header);
  for (const name of Object.keys(values)) p4info.packetMetadataField(header, name);
  return h.metadata.map((f) => ({
    metadata_id: f.id,
    value: encodeUnsigned(values[f.name] ?? 0n, f.bitwidth, `${header}.${f.name}`),
  }));
}
