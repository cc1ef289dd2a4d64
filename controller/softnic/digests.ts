// Digest delivery (P4Runtime §9.8, §16.3): turns the data plane's digest messages into DigestLists.
//
// Per enabled digest:
//   - a buffer of distinct messages, sent as one DigestList when it reaches max_list_size (0 = no
//     limit) or when max_timeout_ns has passed since its first message; max_timeout_ns 0 sends each
//     message at once;
//   - with ack_timeout_ns > 0, a cache of the messages sent and not yet acknowledged: a message equal
//     to one in the cache or in the buffer is dropped. A list's messages leave the cache when a
//     DigestListAck names (digest_id, list_id), or ack_timeout_ns after it was sent.
// list_id counts from 1 per digest, as in bmv2's server (PI). Lists are produced whether or not a
// primary is connected to receive them; the spec allows their loss.

import { encodeUnsigned } from '../p4runtime/values';
import type { DigestInfo, ResolvedType } from '../p4runtime/p4info';
import type { DigestList, P4Data } from '../p4runtime/proto';
import type { Clock, TimerHandle } from './clock';
import { SoftnicStateError, type DigestConfig, type PipelineState } from './state';

interface SentList {
  readonly keys: readonly string[];
  timer?: TimerHandle;
}

interface DigestChannel {
  readonly info: DigestInfo;
  /** Member widths in order; one entry for a bit<W> digest. */
  readonly widths: readonly number[];
  readonly isStruct: boolean;
  buffer: P4Data[];
  bufferKeys: Set<string>;
  bufferTimer?: TimerHandle;
  /** Message key → list that carried it. */
  readonly cache: Map<string, bigint>;
  readonly lists: Map<bigint, SentList>;
  nextListId: bigint;
}

export type DigestListSink = (list: DigestList) => void;

function memberWidths(type: ResolvedType): { widths: number[]; isStruct: boolean } | undefined {
  if (type.kind === 'bit') return { widths: [type.bitwidth], isStruct: false };
  if (type.kind !== 'struct') return undefined;
  const widths: number[] = [];
  for (const m of type.members) {
    if (m.type.kind !== 'bit') return undefined;
    widths.push(m.type.bitwidth);
  }
  return { widths, isStruct: true };
}

export class DigestEngine {
  private readonly channels = new Map<number, DigestChannel>();

  constructor(
    private readonly state: PipelineState,
    private readonly sink: DigestListSink,
    private readonly clock: Clock,
  ) {
    for (const info of state.p4info.digests.all) {
      // Digests of other shapes (nested structs, headers) cannot be emitted through
      // emitDigest's flat member list; they stay silent.
      const shape = memberWidths(info.type);
      if (shape === undefined) continue;
      this.channels.set(info.id, {
        info,
        ...shape,
        buffer: [],
        bufferKeys: new Set(),
        cache: new Map(),
        lists: new Map(),
        nextListId: 1n,
      });
    }
  }

  /** A digest message from the data plane; dropped when the digest is not enabled (§9.8). */
  digest(digestId: number, members: readonly bigint[]): void {
    const ch = this.channels.get(digestId);
    if (ch === undefined) {
      throw new SoftnicStateError(
        'BAD_OUTPUT',
        `digest id ${digestId} is not a flat digest of this pipeline`,
      );
    }
    if (members.length !== ch.widths.length) {
      throw new SoftnicStateError(
        'BAD_OUTPUT',
        `digest '${ch.info.name}' has ${ch.widths.length} members, got ${members.length}`,
      );
    }
    const config = this.state.digestConfig.get(digestId);
    if (config === undefined) return;
    const key = members.join(',');
    if (ch.cache.has(key) || ch.bufferKeys.has(key)) return;
    const bitstrings = members.map((m, i) =>
      encodeUnsigned(m, ch.widths[i], `digest '${ch.info.name}' member ${i}`),
    );
    ch.buffer.push(
      ch.isStruct
        ? { struct: { members: bitstrings.map((b) => ({ bitstring: b })) } }
        : { bitstring: bitstrings[0] },
    );
    ch.bufferKeys.add(key);
    if (config.maxTimeoutNs === 0n || (config.maxListSize > 0 && ch.buffer.length >= config.maxListSize)) {
      this.flush(ch, config);
    } else if (ch.bufferTimer === undefined) {
      ch.bufferTimer = this.clock.setTimer(config.maxTimeoutNs, () => {
        ch.bufferTimer = undefined;
        const current = this.state.digestConfig.get(digestId);
        if (current) this.flush(ch, current);
      });
    }
  }

  /** DigestListAck from the primary: the list's messages may be reported again (§9.8). */
  ack(digestId: number, listId: bigint): void {
    const ch = this.channels.get(digestId);
    const list = ch?.lists.get(listId);
    if (ch === undefined || list === undefined) return;
    this.forget(ch, listId, list);
  }

  /** Called after a DigestEntry write; `config` undefined when the digest was disabled. */
  configChanged(digestId: number, config: DigestConfig | undefined): void {
    const ch = this.channels.get(digestId);
    if (ch === undefined) return;
    if (config === undefined) {
      this.clear(ch);
      return;
    }
    if (
      ch.buffer.length > 0 &&
      (config.maxTimeoutNs === 0n || (config.maxListSize > 0 && ch.buffer.length >= config.maxListSize))
    ) {
      this.flush(ch, config);
    }
  }

  /** Stops all timers; the engine is not used afterwards. */
  close(): void {
    for (const ch of this.channels.values()) this.clear(ch);
  }

  /** Unacknowledged lists of a digest, for tests and diagnostics. */
  pendingLists(digestId: number): bigint[] {
    return [...(this.channels.get(digestId)?.lists.keys() ?? [])];
  }

  private flush(ch: DigestChannel, config: DigestConfig): void {
    if (ch.bufferTimer !== undefined) {
      this.clock.clearTimer(ch.bufferTimer);
      ch.bufferTimer = undefined;
    }
    if (ch.buffer.length === 0) return;
    const listId = ch.nextListId++;
    const list: DigestList = {
      digest_id: ch.info.id,
      list_id: listId.toString(),
      data: ch.buffer,
      timestamp: this.clock.nowNs().toString(),
    };
    const keys = [...ch.bufferKeys];
    ch.buffer = [];
    ch.bufferKeys = new Set();
    // ack_timeout_ns 0 means an empty cache: every message is reported every time (§9.8).
    if (config.ackTimeoutNs > 0n) {
      const sent: SentList = { keys };
      for (const k of keys) ch.cache.set(k, listId);
      sent.timer = this.clock.setTimer(config.ackTimeoutNs, () => {
        sent.timer = undefined;
        this.forget(ch, listId, sent);
      });
      ch.lists.set(listId, sent);
    }
    this.sink(list);
  }

  private forget(ch: DigestChannel, listId: bigint, list: SentList): void {
    if (list.timer !== undefined) this.clock.clearTimer(list.timer);
    for (const k of list.keys) if (ch.cache.get(k) === listId) ch.cache.delete(k);
    ch.lists.delete(listId);
  }

  private clear(ch: DigestChannel): void {
    if (ch.bufferTimer !== undefined) this.clock.clearTimer(ch.bufferTimer);
    ch.bufferTimer = undefined;
    ch.buffer = [];
    ch.bufferKeys = new Set();
    for (const [id, list] of [...ch.lists]) this.forget(ch, id, list);
  }
}
