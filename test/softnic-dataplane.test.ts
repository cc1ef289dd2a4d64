// The softnic end to end: a P4Runtime client installs nicguard, writes entries and a meter over
// gRPC, probes the pipeline with report-mode PacketOuts, and reads back over P4Runtime what the
// packets did (direct and indexed counters, registers). Nothing here touches the store directly.

import { strict as assert } from 'assert';
import { loadNicguardPipeline } from '../controller/pipeline/artifacts';
import {
  ACTIONS,
  COUNTERS,
  METERS,
  NO_EXFIL_LIMIT,
  PACKET_METADATA,
  Reason,
  TABLES,
} from '../controller/pipeline/contract';
import type {
  Entity,
  FieldMatch,
  StreamMessageResponse,
  TableEntry,
  Update,
} from '../controller/p4runtime/proto';
import {
  decodeUnsigned,
  encodeUnsigned,
  exactMatch,
  parseIPv4,
  parseMac,
  rangeMatch,
} from '../controller/p4runtime/values';
import { SoftnicDataplane } from '../controller/softnic/dataplane';
import { Softnic } from '../controller/softnic/server';
import { ipFrame } from '../controller/traffic/frames';
import { connectPrimary, readEntities, writeUpdates, type PrimarySession } from './support/raw-p4rt';

const pipeline = loadNicguardPipeline();
const p4info = pipeline.p4info;
const AGENT = { port: 3, id: 7, mac: '02:00:00:00:00:07', ip: '10.0.0.7' };
const UPLINK = 9;

function entry(
  table: string,
  match: Record<string, (f: Parameters<typeof exactMatch>[0]) => FieldMatch | null>,
  action: string,
  params: Record<string, bigint>,
  priority = 0,
): TableEntry {
  const t = p4info.table(table);
  const a = p4info.action(action);
  const fields: FieldMatch[] = [];
  for (const [name, build] of Object.entries(match)) {
    const fm = build(t.matchFieldsByName.get(name)!);
    if (fm !== null) fields.push(fm);
  }
  const e: TableEntry = {
    table_id: t.id,
    match: fields,
    action: {
      action: {
        action_id: a.id,
        params: a.params.map((p) => ({
          param_id: p.id,
          value: encodeUnsigned(params[p.name] ?? 0n, p.bitwidth),
        })),
      },
    },
  };
  if (priority > 0) e.priority = priority;
  return e;
}

const insert = (e: Entity): Update => ({ type: 'INSERT', entity: e });
const exact = (v: bigint) => (f: Parameters<typeof exactMatch>[0]) => exactMatch(f, v);
const portRange = (lo: bigint, hi: bigint) => (f: Parameters<typeof exactMatch>[0]) => rangeMatch(f, lo, hi);

function probe(dstPort: number, payloadSize = 100): Buffer {
  return Buffer.from(
    ipFrame({
      srcMac: AGENT.mac,
      dstMac: '02:00:00:00:00:fe',
      src: AGENT.ip,
      dst: '198.51.100.10',
      transport: { proto: 'tcp', srcPort: 40000, dstPort },
      payloadSize,
    }),
  );
}

describe('softnic end to end: P4Runtime writes, report-mode probes, counters read back', () => {
  let nic: Softnic;
  let s: PrimarySession;
  let dataplane: ReturnType<typeof SoftnicDataplane.attachTo>;
  const packetOut = p4info.packetMetadata.get(PACKET_METADATA.packetOut.name);
  const packetIn = p4info.packetMetadata.get(PACKET_METADATA.packetIn.name);

  async function send(frame: Buffer): Promise<Record<string, bigint>> {
    const id = (n: string) => packetOut.metadataByName.get(n)!.id;
    s.stream.send({
      packet: {
        payload: frame,
        metadata: [
          { metadata_id: id('ingress_port'), value: encodeUnsigned(AGENT.port, 9) },
          { metadata_id: id('report'), value: encodeUnsigned(1, 1) },
        ],
      },
    });
    const m: StreamMessageResponse | undefined = await s.stream.next();
    assert.equal(m?.update, 'packet', `expected a PacketIn, got ${JSON.stringify(m)}`);
    const out: Record<string, bigint> = {};
    for (const md of m!.packet!.metadata ?? []) {
      const field = packetIn.metadataById.get(md.metadata_id!)!;
      out[field.name] = decodeUnsigned(md.value!, field.bitwidth);
    }
    assert.ok(Buffer.from(m!.packet!.payload!).equals(frame), 'the PacketIn carries the frame');
    return out;
  }

  const aclRule = (port: number, action: string, params: Record<string, bigint>) =>
    entry(
      TABLES.aclV4.name,
      { agent_id: exact(BigInt(AGENT.id)), dst_port: portRange(BigInt(port), BigInt(port)) },
      action,
      params,
      10,
    );

  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    dataplane = SoftnicDataplane.attachTo(nic);
    s = await connectPrimary(nic.address, p4info.message);
    const failed = await writeUpdates(s.client, 1, [
      insert({
        table_entry: entry(
          TABLES.portMap.name,
          { ingress_port: exact(BigInt(AGENT.port)) },
          ACTIONS.agentPort.name,
          {
            agent_id: BigInt(AGENT.id),
            uplink_port: BigInt(UPLINK),
            flags: 0n,
            exfil_limit: NO_EXFIL_LIMIT,
          },
        ),
      }),
      insert({
        table_entry: entry(
          TABLES.macGuard.name,
          { agent_id: exact(BigInt(AGENT.id)), src_mac: exact(parseMac(AGENT.mac)) },
          ACTIONS.sourceOk.name,
          {},
        ),
      }),
      insert({
        table_entry: entry(
          TABLES.ipv4Guard.name,
          { agent_id: exact(BigInt(AGENT.id)), src_addr: exact(parseIPv4(AGENT.ip)) },
          ACTIONS.sourceOk.name,
          {},
        ),
      }),
      insert({ table_entry: aclRule(443, ACTIONS.allow.name, { rule_id: 42n }) }),
      insert({
        table_entry: aclRule(8443, ACTIONS.allowQuota.name, {
          rule_id: 43n,
          quota_slot: 5n,
          budget: 1000n,
          meter_index: 0n,
        }),
      }),
      insert({ table_entry: aclRule(9000, ACTIONS.allowRate.name, { rule_id: 44n, meter_index: 2n }) }),
    ]);
    assert.equal(failed, undefined, JSON.stringify(failed));
  });

  afterEach(async () => {
    dataplane.detach();
    s.close();
    await nic.stop();
  });

  it('reports verdicts as PacketIns and shows the traffic in counters read over P4Runtime', async () => {
    const allowed = probe(443);
    assert.deepEqual(await send(allowed), {
      ingress_port: BigInt(AGENT.port),
      egress_port: BigInt(UPLINK),
      reason: 0n,
      rule_id: 42n,
      audited: 0n,
      _pad: 0n,
    });
    const denied = probe(22);
    const v = await send(denied);
    assert.deepEqual([v.egress_port, v.reason, v.rule_id], [0n, BigInt(Reason.NO_MATCH), 0n]);

    // The ACL entry's direct counter: one packet, its frame plus the 2-byte packet_out header.
    const direct = await readEntities(s.client, [
      { direct_counter_entry: { table_entry: aclRule(443, ACTIONS.allow.name, { rule_id: 42n }) } },
    ]);
    assert.equal(direct.failure, undefined, JSON.stringify(direct.failure));
    const data = direct.entities[0].direct_counter_entry!.data!;
    assert.deepEqual([data.packet_count, data.byte_count], ['1', String(allowed.length + 2)]);

    const drops = await readEntities(s.client, [
      {
        counter_entry: {
          counter_id: p4info.counters.get(COUNTERS.drops.name).id,
          index: { index: String(Reason.NO_MATCH) },
        },
      },
    ]);
    const dropData = drops.entities[0].counter_entry!.data!;
    assert.deepEqual([dropData.packet_count, dropData.byte_count], ['1', String(denied.length + 2)]);
  });

  it('enforces a quota, and a new epoch in quota_window starts the window over', async () => {
    const frame = probe(8443, 400); // 454 bytes + 2: two fit in 1000, the third does not.
    const reasons = [];
    for (let i = 0; i < 3; i++) reasons.push((await send(frame)).reason);
    assert.deepEqual(reasons, [0n, 0n, BigInt(Reason.QUOTA)]);
    const drops = await readEntities(s.client, [
      {
        counter_entry: {
          counter_id: p4info.counters.get(COUNTERS.quotaDrops.name).id,
          index: { index: '5' },
        },
      },
    ]);
    assert.equal(drops.entities[0].counter_entry!.data!.packet_count, '1');
    // Registers cannot be written over bmv2's P4Runtime: a window is reset by a table write.
    const failed = await writeUpdates(s.client, 1, [
      {
        type: 'INSERT',
        entity: {
          table_entry: entry(TABLES.quotaWindow.name, { quota_slot: exact(5n) }, ACTIONS.setWindow.name, {
            epoch: 1n,
          }),
        },
      },
    ]);
    assert.equal(failed, undefined, JSON.stringify(failed));
    const after = [];
    for (let i = 0; i < 3; i++) after.push((await send(frame)).reason);
    assert.deepEqual(after, [0n, 0n, BigInt(Reason.QUOTA)], 'the new window holds the same budget');
  });

  it('colours with a meter configured over P4Runtime', async () => {
    const frame = probe(9000);
    const failed = await writeUpdates(s.client, 1, [
      {
        type: 'MODIFY',
        entity: {
          meter_entry: {
            meter_id: p4info.meters.get(METERS.rate.name).id,
            index: { index: '2' },
            // Bursts of one frame; 1 byte/s refills nothing within the test.
            config: {
              cir: '1',
              cburst: String(frame.length + 2),
              pir: '1',
              pburst: String(frame.length + 2),
            },
          },
        },
      },
    ]);
    assert.equal(failed, undefined, JSON.stringify(failed));
    assert.equal((await send(frame)).reason, 0n);
    assert.equal((await send(frame)).reason, BigInt(Reason.RATE));
  });
});
