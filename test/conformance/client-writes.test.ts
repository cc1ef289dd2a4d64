// The client against the softnic over real gRPC on loopback: pipeline by cookie (P4Runtime §14),
// write errors pinned on the updates that caused them (§12.3), writes larger than one message,
// read-write symmetry (§8.2), indexed resources, and digest acknowledgement (§16.3).

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { once } from 'events';
import { DeviceClient } from '../../controller/p4runtime/client';
import { WriteError } from '../../controller/p4runtime/errors';
import { loadP4Info, type P4InfoIndex } from '../../controller/p4runtime/p4info';
import type { DigestListEvent } from '../../controller/p4runtime/stream';
import type { WriteOp } from '../../controller/p4runtime/write';
import { entryKey, type EntrySpec } from '../../controller/pipeline/entries';
import { Softnic } from '../../controller/softnic/server';

const P4INFO_FILE = path.join(__dirname, '..', '..', '..', 'p4', 'build', 'nicguard.p4info.json');
const p4info: P4InfoIndex = loadP4Info(fs.readFileSync(P4INFO_FILE, 'utf8'));
const ING = 'NicguardIngress.';

function acl(i: number, extra: Partial<EntrySpec> = {}): EntrySpec {
  return {
    table: `${ING}acl_v4`,
    match: {
      agent_id: { kind: 'exact', value: BigInt(1 + (i % 1000)) },
      dst_addr: { kind: 'ternary', value: BigInt(0x0a000000 + i * 4), mask: 0xfffffffcn },
      dst_port: { kind: 'range', low: 1000n, high: 1000n + BigInt(i % 50) },
    },
    priority: 1 + (i % 5000),
    action: `${ING}deny`,
    params: { rule_id: BigInt(i), flags: BigInt(i % 4) },
    ...extra,
  };
}

function sensitive(i: number): EntrySpec {
  return {
    table: `${ING}sensitive_v4`,
    match: { src_addr: { kind: 'lpm', value: BigInt(0xc0a80000 + (i << 8)), prefixLen: 24 } },
    action: `${ING}sensitive`,
    params: {},
  };
}

function byKey(entries: readonly EntrySpec[]): Map<string, EntrySpec> {
  return new Map(entries.map((e) => [entryKey(e), e]));
}

describe('conformance: client writes and reads (softnic)', function () {
  this.timeout(30_000);
  let nic: Softnic;
  let client: DeviceClient;

  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 3n });
    client = await DeviceClient.connect({
      address: nic.address,
      deviceId: 3n,
      electionId: { high: 1, low: 0 },
      insecure: true,
      profile: 'softnic',
      reconnect: false,
    });
    await client.ensurePipeline({ p4info, deviceConfig: Buffer.from('{"program":"nicguard"}') });
  });

  afterEach(async () => {
    client.close();
    await nic.stop();
  });

  it('skips the pipeline push when the installed cookie matches, and pushes when forced', async () => {
    const cookie = await client.getPipelineCookie();
    assert.match(cookie ?? '', /^\d+$/);
    await client.write([{ type: 'INSERT', entry: acl(1) }]);
    const again = await client.ensurePipeline({
      p4info,
      deviceConfig: Buffer.from('{"program":"nicguard"}'),
    });
    assert.deepEqual(again, { pushed: false, cookie });
    // VERIFY_AND_COMMIT would have cleared the table: the entry still being there proves no push.
    assert.equal((await client.readTableEntries('acl_v4')).length, 1);

    const changed = await client.ensurePipeline({ p4info, deviceConfig: Buffer.from('{"program":"other"}') });
    assert.equal(changed.pushed, true);
    assert.notEqual(changed.cookie, cookie);
    assert.equal(await client.getPipelineCookie(), changed.cookie);
    assert.equal((await client.readTableEntries('acl_v4')).length, 0);

    await client.write([{ type: 'INSERT', entry: acl(1) }]);
    const forced = await client.ensurePipeline(
      { p4info, deviceConfig: Buffer.from('{"program":"other"}') },
      { force: true },
    );
    assert.deepEqual(forced, { pushed: true, cookie: changed.cookie });
    assert.equal((await client.readTableEntries('acl_v4')).length, 0);
  });

  it('names each failed update by its index in the caller list, with the device code, and applies the rest', async () => {
    for (let i = 0; i < 1024; i += 256) {
      await client.write(
        Array.from({ length: 256 }, (_, j) => ({ type: 'INSERT' as const, entry: sensitive(i + j) })),
      );
    }
    await client.write([{ type: 'INSERT', entry: acl(0) }]);
    const ops: WriteOp[] = [
      { type: 'INSERT', entry: acl(1) }, // ok
      { type: 'INSERT', entry: acl(0) }, // already there
      { type: 'MODIFY', entry: acl(2) }, // absent
      { type: 'DELETE', entry: acl(3) }, // absent
      { type: 'INSERT', entry: sensitive(5000) }, // table of 1024 is full
      { type: 'MODIFY', counter: { counter: `${ING}drop_counter`, index: 3, packets: 77n, bytes: 0n } }, // ok
      {
        type: 'MODIFY',
        entity: {
          counter_entry: {
            counter_id: p4info.counters.get('quota_drop_counter').id,
            index: { index: '65536' },
            data: { packet_count: '1' },
          },
        },
      },
      { type: 'INSERT', entity: { table_entry: { table_id: 0x0badbad } } }, // unknown table
      { type: 'INSERT', entry: acl(4) }, // ok
    ];
    const err = await client.write(ops).then(
      () => assert.fail('expected a WriteError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WriteError);
    assert.deepEqual(
      err.failures.map((f) => [f.index, f.status]),
      [
        [1, 'ALREADY_EXISTS'],
        [2, 'NOT_FOUND'],
        [3, 'NOT_FOUND'],
        [4, 'RESOURCE_EXHAUSTED'],
        [6, 'OUT_OF_RANGE'],
        [7, 'INVALID_ARGUMENT'],
      ],
    );
    assert.equal(err.failures[0].update, ops[1]);
    assert.equal(err.notSent, 0);
    assert.match(err.message, /6 of 9 updates failed/);
    assert.match(err.message, /#1 INSERT table entry in 'NicguardIngress.acl_v4': ALREADY_EXISTS/);
    // CONTINUE_ON_ERROR: the good ones went in.
    const keys = new Set((await client.readTableEntries('acl_v4')).map((r) => entryKey(r.entry)));
    assert.deepEqual(keys, new Set([acl(0), acl(1), acl(4)].map(entryKey)));
    assert.deepEqual(await client.readCounters('drop_counter', 3), [
      { counter: `${ING}drop_counter`, index: 3, packets: 77n, bytes: 0n },
    ]);

    // The per-update report in the planner's shape.
    const results = await client.writeBatch([
      { type: 'INSERT', entry: acl(5) },
      { type: 'INSERT', entry: acl(5) },
    ]);
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, false],
    );
    assert.equal(results[1].code, 'ALREADY_EXISTS');
  });

  it('splits 100k entries over as many Writes as the limits need, and reads back exactly what it wrote', async function () {
    this.timeout(180_000);
    const entries = Array.from({ length: 100_000 }, (_, i) =>
      acl(i, i % 3 === 0 ? { metadata: Buffer.from(`rule-${i}`) } : {}),
    );
    const summary = await client.write(entries.map((entry) => ({ type: 'INSERT', entry })));
    assert.deepEqual(summary, { updates: 100_000, batches: Math.ceil(100_000 / 256) });

    const back = await client.readTableEntries('acl_v4');
    assert.equal(back.length, entries.length);
    const written = byKey(entries);
    for (const { entry } of back) assert.deepStrictEqual(entry, written.get(entryKey(entry)));

    // Failures deep inside the run still name the caller's index.
    const again = [acl(100_000), acl(7), acl(100_001), acl(99_999)].map((entry) => ({
      type: 'INSERT' as const,
      entry,
    }));
    const err = await client.write(again).catch((e: unknown) => e);
    assert.ok(err instanceof WriteError);
    assert.deepEqual(
      err.failures.map((f) => f.index),
      [1, 3],
    );
  });

  it('cuts by bytes as well as by count', async () => {
    const big = Buffer.alloc(3000, 0x5a);
    const entries = Array.from({ length: 40 }, (_, i) => acl(i, { metadata: big }));
    const small = await DeviceClient.connect({
      address: nic.address,
      deviceId: 3n,
      electionId: { high: 2, low: 0 },
      insecure: true,
      profile: 'softnic',
      p4info,
      reconnect: false,
      maxBatchBytes: 16 * 1024,
    });
    try {
      const summary = await small.write(entries.map((entry) => ({ type: 'INSERT', entry })));
      assert.equal(summary.batches, Math.ceil(40 / 5)); // 5 entries of ~3.1 kB per 16 kB Write
      assert.equal((await small.readTableEntries('acl_v4')).length, 40);
    } finally {
      small.close();
    }
  });

  it('reads back what it wrote in every kind of table, with direct counters, and indexed resources', async () => {
    const entries: EntrySpec[] = [
      {
        table: `${ING}port_map`,
        match: { ingress_port: { kind: 'exact', value: 511n } },
        action: `${ING}agent_port`,
        params: { agent_id: 65535n, uplink_port: 0n, flags: 1n, exfil_limit: (1n << 48n) - 1n },
        metadata: Buffer.from([0, 1, 2, 255]),
      },
      {
        table: `${ING}port_map`,
        match: { ingress_port: { kind: 'exact', value: 0n } },
        action: `${ING}uplink_port`,
        params: {},
      },
      {
        table: `${ING}mac_guard`,
        match: { agent_id: { kind: 'exact', value: 7n }, src_mac: { kind: 'exact', value: 0x0200deadbeefn } },
        action: `${ING}source_ok`,
        params: {},
      },
      {
        table: `${ING}ipv6_guard`,
        match: {
          agent_id: { kind: 'exact', value: 7n },
          src_addr: { kind: 'exact', value: (0x20010db8n << 96n) | 1n },
        },
        action: `${ING}source_ok`,
        params: {},
      },
      {
        table: `${ING}acl_v6`,
        match: {
          agent_id: { kind: 'exact', value: 7n },
          dst_addr: { kind: 'ternary', value: 0xfd00n << 112n, mask: 0xff00n << 112n },
          protocol: { kind: 'ternary', value: 17n, mask: 0xffn },
        },
        priority: 0x7fffffff,
        action: `${ING}allow_quota`,
        params: {
          rule_id: 0xffffffffn,
          flags: 2n,
          quota_slot: 9n,
          budget: (1n << 64n) - 1n,
          meter_index: 3n,
        },
      },
      sensitive(1),
      {
        table: `${ING}sensitive_v6`,
        match: { src_addr: { kind: 'lpm', value: 0xfd12n << 112n, prefixLen: 16 } },
        action: `${ING}sensitive`,
        params: {},
      },
      {
        table: `${ING}host_route`,
        match: { dst_mac: { kind: 'exact', value: 0xffffffffffffn } },
        action: `${ING}to_host`,
        params: { port: 3n, agent_id: 7n },
      },
    ];
    await client.write(entries.map((entry) => ({ type: 'INSERT', entry })));
    const all = await client.readTableEntries(undefined, { counters: true });
    assert.deepStrictEqual(byKey(all.map((r) => r.entry)), byKey(entries));
    const portMap = all.filter((r) => r.entry.table === `${ING}port_map`);
    assert.deepStrictEqual(portMap[0].counter, { packets: 0n, bytes: 0n }, 'port_map has a direct counter');
    assert.equal(
      all.find((r) => r.entry.table === `${ING}mac_guard`)?.counter,
      undefined,
      'mac_guard has none',
    );

    const direct = await client.readDirectCounters('host_route');
    assert.deepStrictEqual(direct, [{ entry: entries[7], counter: { packets: 0n, bytes: 0n } }]);

    // MODIFY replaces the whole entry (§12), and reads show the new one.
    const modified = {
      ...entries[0],
      params: { ...entries[0].params, flags: 0n },
      metadata: Buffer.from('v2'),
    };
    await client.write([{ type: 'MODIFY', entry: modified }]);
    assert.deepStrictEqual(
      (await client.readTableEntries('port_map'))
        .map((r) => r.entry)
        .find((e) => entryKey(e) === entryKey(modified)),
      modified,
    );

    // Registers are refused before sending: bmv2's server (and the softnic, as bmv2) cannot write them.
    await assert.rejects(
      client.write([
        { type: 'MODIFY', register: { register: `${ING}sensitive_rx_bytes`, index: 4095, value: 1n } },
      ]),
      /no register access over P4Runtime/,
    );
    await client.write([
      {
        type: 'MODIFY',
        meter: { meter: `${ING}rate_meter`, index: 12, cir: 1000n, cburst: 200n, pir: 2000n, pburst: 400n },
      },
      { type: 'MODIFY', counter: { counter: `${ING}drop_counter`, index: 5, packets: 3n, bytes: 180n } },
    ]);
    assert.deepStrictEqual(await client.readMeters('rate_meter', 12), [
      {
        meter: `${ING}rate_meter`,
        index: 12,
        config: { cir: 1000n, cburst: 200n, pir: 2000n, pburst: 400n },
      },
    ]);
    const drops = await client.readCounters('drop_counter');
    assert.equal(drops.length, 16);
    assert.deepStrictEqual(drops[5], { counter: `${ING}drop_counter`, index: 5, packets: 3n, bytes: 180n });
    await client.write([{ type: 'MODIFY', meterReset: { meter: `${ING}rate_meter`, index: 12 } }]);
    assert.deepStrictEqual(await client.readMeters('rate_meter', 12), [
      { meter: `${ING}rate_meter`, index: 12 },
    ]);
  });

  it('acknowledges digest lists its handler accepted, and only those', async () => {
    await client.configureDigest('deny_digest_t', {
      maxTimeoutNs: 0,
      maxListSize: 1,
      ackTimeoutNs: 3600n * 10n ** 9n,
    });
    // Reconfiguring an enabled digest works too (INSERT, then MODIFY).
    await client.configureDigest('deny_digest_t', {
      maxTimeoutNs: 0,
      maxListSize: 1,
      ackTimeoutNs: 3600n * 10n ** 9n,
    });
    const digestId = p4info.digests.get('deny_digest_t').id;
    const members = (agent: bigint) => [agent, 4n, 0x0a000001n, 0x0a000002n, 6n, 40000n, 443n, 17n, 6n, 0n];
    const received: DigestListEvent[] = [];
    let refuse = -1n;
    let arrived: (() => void) | undefined;
    client.onDigest((list) => {
      received.push(list);
      arrived?.();
      if (list.data[0].agent_id === refuse) throw new Error('not now');
    });
    const next = () => new Promise<void>((resolve) => (arrived = resolve));
    // A PacketOut behind the ack on the same stream: once the device has it, it has the ack too.
    let barrierSeen: (() => void) | undefined;
    nic.onPacketOut(() => barrierSeen?.());
    const barrier = async () => {
      // The ack goes out once the handler's promise settles, a few microtasks after the handler
      // ran; setImmediate runs after every pending microtask, so the ack is on the stream by then.
      await new Promise((resolve) => setImmediate(resolve));
      const seen = new Promise<void>((resolve) => (barrierSeen = resolve));
      client.sendPacketOut(Buffer.from('barrier'), { ingress_port: 1n });
      await seen;
    };

    let got = next();
    nic.state!.emitDigest(digestId, members(7n));
    await got;
    assert.deepEqual(received[0].data, [
      {
        agent_id: 7n,
        ip_version: 4n,
        src_addr: 0x0a000001n,
        dst_addr: 0x0a000002n,
        protocol: 6n,
        src_port: 40000n,
        dst_port: 443n,
        rule_id: 17n,
        reason: 6n,
        audit: 0n,
      },
    ]);
    assert.equal(received[0].digest, 'deny_digest_t');
    await barrier();
    // Acked, so the device no longer holds it back as a duplicate (P4Runtime §9.8).
    got = next();
    nic.state!.emitDigest(digestId, members(7n));
    await got;
    assert.equal(received.length, 2);
    assert.notEqual(received[1].listId, received[0].listId);

    // A list the handler refuses is not acked: its duplicate stays suppressed while a new one passes.
    refuse = 8n;
    const failed = once(client, 'handlerError');
    got = next();
    nic.state!.emitDigest(digestId, members(8n));
    await got;
    await failed;
    await barrier();
    got = next();
    nic.state!.emitDigest(digestId, members(8n));
    nic.state!.emitDigest(digestId, members(9n));
    await got;
    assert.deepEqual(
      received.map((l) => l.data[0].agent_id),
      [7n, 7n, 8n, 9n],
    );
  });
});
