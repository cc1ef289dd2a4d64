import { strict as assert } from 'assert';
import { fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import { loadNicguardPipeline } from '../pipeline/artifacts';
import { ACTIONS, PACKET_METADATA, Reason, TABLES } from '../pipeline/contract';
import { parseIPv4, parseMac } from '../p4runtime/values';
import { ipFrame } from '../traffic/frames';
import {
  packetOutHeader,
  packetOutMetadata,
  SoftnicDataplane,
  type DataplaneHost,
  type PacketOutProcessor,
} from './dataplane';
import { writeEntry } from './direct-write';
import { PacketModelError } from './model';
import { PipelineState } from './state';

const AGENT = { port: 4, id: 3, mac: '02:00:00:00:00:03', ip: '10.0.0.3' };
const UPLINK = 9;

function nicguardState(): {
  state: PipelineState;
  packetIns: { payload: Buffer; metadata: ReadonlyMap<number, bigint> }[];
} {
  const state = new PipelineState({ p4info: loadNicguardPipeline().p4info });
  const packetIns: { payload: Buffer; metadata: ReadonlyMap<number, bigint> }[] = [];
  state.setOutputs({
    digest: () => undefined,
    packetIn: (payload, metadata) => packetIns.push({ payload, metadata }),
  });
  const exact = (value: bigint) => ({ kind: 'exact' as const, value });
  writeEntry(state, {
    table: TABLES.portMap.name,
    match: { ingress_port: exact(BigInt(AGENT.port)) },
    action: ACTIONS.agentPort.name,
    params: { agent_id: BigInt(AGENT.id), uplink_port: BigInt(UPLINK), flags: 0n, exfil_limit: 1n << 40n },
  });
  writeEntry(state, {
    table: TABLES.macGuard.name,
    match: { agent_id: exact(BigInt(AGENT.id)), src_mac: exact(parseMac(AGENT.mac)) },
    action: ACTIONS.sourceOk.name,
    params: {},
  });
  writeEntry(state, {
    table: TABLES.ipv4Guard.name,
    match: { agent_id: exact(BigInt(AGENT.id)), src_addr: exact(parseIPv4(AGENT.ip)) },
    action: ACTIONS.sourceOk.name,
    params: {},
  });
  writeEntry(state, {
    table: TABLES.aclV4.name,
    match: { agent_id: exact(BigInt(AGENT.id)), dst_port: { kind: 'range', low: 443n, high: 443n } },
    priority: 1,
    action: ACTIONS.allow.name,
    params: { rule_id: 12n, flags: 0n },
  });
  return { state, packetIns };
}

const frame = (dstPort: number) =>
  Buffer.from(
    ipFrame({
      srcMac: AGENT.mac,
      dstMac: '02:00:00:00:00:fe',
      src: AGENT.ip,
      dst: '192.0.2.1',
      transport: { proto: 'udp', srcPort: 1000, dstPort },
      payloadSize: 20,
    }),
  );

function metadataByName(
  state: PipelineState,
  metadata: ReadonlyMap<number, bigint>,
): Record<string, bigint | undefined> {
  const info = state.p4info.packetMetadata.get(PACKET_METADATA.packetIn.name);
  return Object.fromEntries(info.metadata.map((f) => [f.name, metadata.get(f.id)]));
}

class FakeHost implements DataplaneHost {
  state: PipelineState | undefined;
  processor: PacketOutProcessor | undefined;
  private listeners: ((s: PipelineState) => void)[] = [];
  setDataplane(p: PacketOutProcessor | undefined): void {
    this.processor = p;
  }
  onPipelineCommitted(l: (s: PipelineState) => void): () => void {
    this.listeners.push(l);
    return () => (this.listeners = this.listeners.filter((x) => x !== l));
  }
  commit(state: PipelineState): void {
    this.state = state;
    for (const l of this.listeners) l(state);
  }
}

describe('softnic dataplane', () => {
  it('packs packet_out fields most significant bit first, omitted fields as zero', () => {
    const { state } = nicguardState();
    assert.equal(packetOutHeader(state, packetOutMetadata(state, 4, true)).toString('hex'), '0240');
    assert.equal(packetOutHeader(state, packetOutMetadata(state, 511, false)).toString('hex'), 'ff80');
    assert.equal(packetOutHeader(state, new Map()).toString('hex'), '0000');
  });

  it('answers a report PacketOut with a PacketIn through the state outputs', () => {
    const { state, packetIns } = nicguardState();
    const dataplane = new SoftnicDataplane();
    dataplane.packetOut(frame(443), packetOutMetadata(state, AGENT.port, true), state);
    dataplane.packetOut(frame(80), packetOutMetadata(state, AGENT.port, true), state);
    assert.equal(packetIns.length, 2);
    assert.deepEqual(metadataByName(state, packetIns[0].metadata), {
      ingress_port: BigInt(AGENT.port),
      egress_port: BigInt(UPLINK),
      reason: 0n,
      rule_id: 12n,
      audited: 0n,
      _pad: 0n,
    });
    assert.ok(packetIns[0].payload.equals(frame(443)));
    assert.equal(metadataByName(state, packetIns[1].metadata).reason, BigInt(Reason.NO_MATCH));
  });

  it('sends nothing to the controller for PacketOuts without report', () => {
    const { state, packetIns } = nicguardState();
    const verdict = new SoftnicDataplane().runPacketOut(
      frame(443),
      packetOutMetadata(state, AGENT.port, false),
      state,
    );
    assert.equal(verdict.forwarded, true);
    assert.equal(verdict.egressPort, UPLINK);
    assert.equal(packetIns.length, 0);
  });

  it('injects frames on the attached pipeline and follows commits of the host', () => {
    const host = new FakeHost();
    const dataplane = SoftnicDataplane.attachTo(host);
    assert.equal(host.processor, dataplane);
    assert.throws(
      () => dataplane.inject(AGENT.port, frame(443)),
      (e: unknown) => e instanceof PacketModelError && e.code === 'NO_PIPELINE',
    );
    const { state } = nicguardState();
    host.commit(state);
    assert.equal(dataplane.inject(AGENT.port, frame(443)).ruleId, 12);
    // A pipeline that is not nicguard detaches the model rather than running the wrong program.
    host.commit(new PipelineState({ p4info: fixtureP4InfoIndex() }));
    assert.throws(
      () => dataplane.inject(AGENT.port, frame(443)),
      (e: unknown) => e instanceof PacketModelError && e.code === 'NO_PIPELINE',
    );
    dataplane.detach();
    assert.equal(host.processor, undefined);
  });

  it('keeps model state per pipeline: a PacketOut counts into its own state', () => {
    const a = nicguardState();
    const b = nicguardState();
    const dataplane = new SoftnicDataplane();
    dataplane.packetOut(frame(443), packetOutMetadata(a.state, AGENT.port, false), a.state);
    const count = (s: PipelineState) =>
      [...s.table(TABLES.aclV4.name).entries.values()].reduce((n, e) => n + e.counter.packets, 0n);
    assert.equal(count(a.state), 1n);
    assert.equal(count(b.state), 0n);
  });
});
