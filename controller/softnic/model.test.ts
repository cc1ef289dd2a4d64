import { strict as assert } from 'assert';
import { fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import { loadNicguardPipeline } from '../pipeline/artifacts';
import {
  ACTIONS,
  AgentFlag,
  COUNTERS,
  CPU_PORT,
  DIGESTS,
  METERS,
  NO_EXFIL_LIMIT,
  PACKET_METADATA,
  Reason,
  REGISTERS,
  RuleFlag,
  TABLES,
} from '../pipeline/contract';
import type { EntrySpec, FieldValue } from '../pipeline/entries';
import { parseIPv4, parseIPv6, parseMac } from '../p4runtime/values';
import { arpFrame, ethernet, ipFrame, type IpFrameSpec } from '../traffic/frames';
import { deleteEntry, writeEntry, writeMeter, writeRegister } from './direct-write';
import { PacketModel, PacketModelError } from './model';
import { PipelineState, type StoredEntry } from './state';

// The device: agent 7 on port 1 and agent 8 (audit mode) on port 2, both behind uplink port 9.
const UPLINK = 9;
const A = { port: 1, id: 7, mac: '02:00:00:00:00:07', ip: '10.0.0.7', ip6: 'fd00::7' };
const B = { port: 2, id: 8, mac: '02:00:00:00:00:08', ip: '10.0.0.8', ip6: 'fd00::8' };
const GATEWAY = '02:00:00:00:00:fe';
const WEB = '93.184.216.34';

const exact = (value: bigint): FieldValue => ({ kind: 'exact', value });
const ternary = (value: bigint, mask: bigint): FieldValue => ({ kind: 'ternary', value, mask });
const range = (low: bigint, high: bigint): FieldValue => ({ kind: 'range', low, high });
const v4net = (text: string, len: number): FieldValue =>
  ternary(parseIPv4(text), len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(32 - len));

interface Captured {
  digests: { id: number; members: bigint[] }[];
  packetIns: { payload: Buffer; metadata: ReadonlyMap<number, bigint> }[];
}

class Rig {
  readonly state = new PipelineState({ p4info: loadNicguardPipeline().p4info });
  readonly out: Captured = { digests: [], packetIns: [] };
  now = 1_000_000_000n;
  readonly model: PacketModel;

  constructor() {
    this.state.setOutputs({
      digest: (id, members) => this.out.digests.push({ id, members: [...members] }),
      packetIn: (payload, metadata) => this.out.packetIns.push({ payload: Buffer.from(payload), metadata }),
    });
    this.model = new PacketModel(this.state, { clock: () => this.now });
    for (const agent of [A, B]) {
      this.agent(agent.port, agent.id, agent === B ? AgentFlag.AUDIT : 0, NO_EXFIL_LIMIT);
      this.write({
        table: TABLES.macGuard.name,
        match: { agent_id: exact(BigInt(agent.id)), src_mac: exact(parseMac(agent.mac)) },
        action: ACTIONS.sourceOk.name,
        params: {},
      });
      this.write({
        table: TABLES.ipv4Guard.name,
        match: { agent_id: exact(BigInt(agent.id)), src_addr: exact(parseIPv4(agent.ip)) },
        action: ACTIONS.sourceOk.name,
        params: {},
      });
      this.write({
        table: TABLES.ipv6Guard.name,
        match: { agent_id: exact(BigInt(agent.id)), src_addr: exact(parseIPv6(agent.ip6)) },
        action: ACTIONS.sourceOk.name,
        params: {},
      });
      this.write({
        table: TABLES.hostRoute.name,
        match: { dst_mac: exact(parseMac(agent.mac)) },
        action: ACTIONS.toHost.name,
        params: { port: BigInt(agent.port), agent_id: BigInt(agent.id) },
      });
    }
    this.write({
      table: TABLES.portMap.name,
      match: { ingress_port: exact(BigInt(UPLINK)) },
      action: ACTIONS.uplinkPort.name,
      params: {},
    });
  }

  write(spec: EntrySpec): StoredEntry {
    return writeEntry(this.state, spec);
  }

  agent(port: number, id: number, flags: number, exfilLimit: bigint): StoredEntry {
    const match = { ingress_port: exact(BigInt(port)) };
    const spec: EntrySpec = {
      table: TABLES.portMap.name,
      match,
      action: ACTIONS.agentPort.name,
      params: {
        agent_id: BigInt(id),
        uplink_port: BigInt(UPLINK),
        flags: BigInt(flags),
        exfil_limit: exfilLimit,
      },
    };
    deleteEntry(this.state, spec);
    return this.write(spec);
  }

  rule(
    agent: number,
    priority: number,
    action: 'allow' | 'deny' | 'allowQuota' | 'allowRate',
    params: Record<string, bigint>,
    match: { dst?: FieldValue; protocol?: FieldValue; port?: FieldValue } = {},
    family: 4 | 6 = 4,
  ): StoredEntry {
    const m: Record<string, FieldValue> = { agent_id: exact(BigInt(agent)) };
    if (match.dst) m.dst_addr = match.dst;
    if (match.protocol) m.protocol = match.protocol;
    if (match.port) m.dst_port = match.port;
    return this.write({
      table: family === 4 ? TABLES.aclV4.name : TABLES.aclV6.name,
      match: m,
      priority,
      action: ACTIONS[action].name,
      params,
    });
  }

  counter(name: string, index: number): { packets: bigint; bytes: bigint } {
    const c = this.state.counter(name)[index];
    return { packets: c.packets, bytes: c.bytes };
  }

  send(ingressPort: number, frame: Uint8Array) {
    return this.model.process(ingressPort, frame);
  }
}

function tcpFrom(
  agent: typeof A,
  dst: string,
  dstPort: number,
  extra: Partial<IpFrameSpec> = {},
): Uint8Array {
  const v6 = dst.includes(':');
  return ipFrame({
    srcMac: agent.mac,
    dstMac: GATEWAY,
    src: v6 ? agent.ip6 : agent.ip,
    dst,
    transport: { proto: 'tcp', srcPort: 40000, dstPort },
    payloadSize: 100,
    ...extra,
  });
}

const bytes = (n: number) => ({ packets: 1n, bytes: BigInt(n) });
const TCP = exact(6n);

describe('softnic packet model', () => {
  it('refuses a pipeline that is not nicguard', () => {
    const state = new PipelineState({ p4info: fixtureP4InfoIndex() });
    assert.throws(
      () => new PacketModel(state),
      (e: unknown) =>
        e instanceof PacketModelError &&
        e.code === 'NOT_NICGUARD_PIPELINE' &&
        /NicguardIngress\.port_map is missing/.test(e.message),
    );
  });

  it('drops a frame from an unmapped port as UNKNOWN_PORT without a digest', () => {
    const rig = new Rig();
    const frame = tcpFrom(A, WEB, 443);
    const v = rig.send(5, frame);
    assert.equal(v.forwarded, false);
    assert.equal(v.reason, 'UNKNOWN_PORT');
    assert.equal(v.role, 'unknown');
    assert.deepEqual(rig.counter(COUNTERS.drops.name, Reason.UNKNOWN_PORT), bytes(frame.length));
    assert.equal(rig.out.digests.length, 0, 'identity failures send no digest');
  });

  it('allows by rule, counting the port_map and ACL entries directly', () => {
    const rig = new Rig();
    const rule = rig.rule(
      A.id,
      10,
      'allow',
      { rule_id: 101n, flags: 0n },
      { dst: v4net('93.184.216.0', 24), protocol: TCP, port: range(443n, 443n) },
    );
    const frame = tcpFrom(A, WEB, 443);
    const v = rig.send(A.port, frame);
    assert.deepEqual(
      {
        forwarded: v.forwarded,
        egressPort: v.egressPort,
        reason: v.reason,
        ruleId: v.ruleId,
        agentId: v.agentId,
        role: v.role,
      },
      { forwarded: true, egressPort: UPLINK, reason: 'NONE', ruleId: 101, agentId: A.id, role: 'agent' },
    );
    assert.deepEqual({ ...rule.counter }, bytes(frame.length));
    const portEntry = [...rig.state.table(TABLES.portMap.name).entries.values()].find(
      (e) => e.params.get(1) === BigInt(A.id),
    );
    assert.deepEqual({ ...portEntry!.counter }, bytes(frame.length));
    assert.equal(
      rig.state.table(TABLES.aclV4.name).defaultEntryState.counter.packets,
      0n,
      'a miss counts nothing',
    );
  });

  it('drops on no match and on a deny rule, with digests in deny_digest_t member order', () => {
    const rig = new Rig();
    rig.rule(A.id, 20, 'deny', { rule_id: 66n, flags: 0n }, { dst: v4net('10.9.0.0', 16) });
    const denied = tcpFrom(A, '10.9.1.1', 22);
    let v = rig.send(A.port, denied);
    assert.equal(v.reason, 'DENY_RULE');
    assert.equal(v.ruleId, 66);
    const missed = tcpFrom(A, WEB, 80);
    v = rig.send(A.port, missed);
    assert.equal(v.forwarded, false);
    assert.equal(v.reason, 'NO_MATCH');
    assert.equal(v.ruleId, 0);
    assert.deepEqual(rig.counter(COUNTERS.drops.name, Reason.DENY_RULE), bytes(denied.length));
    assert.deepEqual(rig.counter(COUNTERS.drops.name, Reason.NO_MATCH), bytes(missed.length));
    const digestId = rig.state.p4info.digests.get(DIGESTS.deny.name).id;
    assert.deepEqual(rig.out.digests, [
      {
        id: digestId,
        members: [
          7n,
          4n,
          parseIPv4(A.ip),
          parseIPv4('10.9.1.1'),
          6n,
          40000n,
          22n,
          66n,
          BigInt(Reason.DENY_RULE),
          0n,
        ],
      },
      {
        id: digestId,
        members: [7n, 4n, parseIPv4(A.ip), parseIPv4(WEB), 6n, 40000n, 80n, 0n, BigInt(Reason.NO_MATCH), 0n],
      },
    ]);
  });

  it('lets the highest priority win whatever the insertion order', () => {
    const rig = new Rig();
    rig.rule(A.id, 5, 'allow', { rule_id: 1n, flags: 0n });
    rig.rule(A.id, 50, 'deny', { rule_id: 2n, flags: 0n }, { dst: v4net('93.184.216.0', 24) });
    rig.rule(A.id, 9, 'allow', { rule_id: 3n, flags: 0n }, { port: range(443n, 443n) });
    assert.equal(rig.send(A.port, tcpFrom(A, WEB, 443)).ruleId, 2);
    assert.equal(rig.send(A.port, tcpFrom(A, '1.1.1.1', 443)).ruleId, 3);
    assert.equal(rig.send(A.port, tcpFrom(A, '1.1.1.1', 80)).ruleId, 1);
  });

  it('breaks priority ties by bmv2 handle: first inserted, and a freed handle is reused', () => {
    const rig = new Rig();
    // Three overlapping entries of equal priority; bmv2 gives them handles 0, 1, 2.
    const first = { dst: v4net('93.184.216.0', 24) };
    rig.rule(A.id, 10, 'allow', { rule_id: 1n, flags: 0n }, first);
    rig.rule(A.id, 10, 'allow', { rule_id: 2n, flags: 0n }, { protocol: TCP });
    rig.rule(A.id, 10, 'allow', { rule_id: 3n, flags: 0n }, { port: range(1n, 1000n) });
    assert.equal(rig.send(A.port, tcpFrom(A, WEB, 443)).ruleId, 1);
    deleteEntry(rig.state, {
      table: TABLES.aclV4.name,
      match: { agent_id: exact(7n), dst_addr: first.dst },
      priority: 10,
    });
    assert.equal(rig.send(A.port, tcpFrom(A, WEB, 443)).ruleId, 2, 'next in handle order');
    // A new overlapping entry takes the lowest free handle, 0, and so wins over entries 2 and 3
    // although it was inserted after them: bmv2's order, not insertion order.
    rig.rule(A.id, 10, 'allow', { rule_id: 4n, flags: 0n }, { dst: v4net('93.0.0.0', 8) });
    assert.equal(rig.send(A.port, tcpFrom(A, WEB, 443)).ruleId, 4);
  });

  it("treats omitted fields as don't-care, including a zero-length destination", () => {
    const rig = new Rig();
    rig.rule(A.id, 1, 'allow', { rule_id: 9n, flags: 0n });
    for (const dst of ['1.2.3.4', '255.255.255.255', WEB])
      assert.equal(rig.send(A.port, tcpFrom(A, dst, 7)).ruleId, 9);
    assert.equal(rig.send(B.port, tcpFrom(B, WEB, 7)).reason, 'NO_MATCH', 'only for its own agent');
  });

  it('drops spoofed MAC and IP sources as SPOOFED even for an audited agent', () => {
    const rig = new Rig();
    rig.rule(B.id, 1, 'allow', { rule_id: 9n, flags: 0n });
    const badMac = tcpFrom(B, WEB, 443, { srcMac: '02:00:00:00:00:99' });
    const badIp = tcpFrom(B, WEB, 443, { src: '10.0.0.99' });
    const badIp6 = tcpFrom(B, '2001:db8::1', 443, { src: 'fd00::99' });
    for (const f of [badMac, badIp, badIp6]) {
      const v = rig.send(B.port, f);
      assert.equal(v.reason, 'SPOOFED');
      assert.equal(v.forwarded, false);
      assert.equal(v.audited, false);
    }
    assert.deepEqual(rig.counter(COUNTERS.drops.name, Reason.SPOOFED), {
      packets: 3n,
      bytes: BigInt(badMac.length + badIp.length + badIp6.length),
    });
    assert.equal(rig.out.digests.length, 0);
  });

  it('forwards ARP without a rule and drops other non-IP frames as NOT_IP', () => {
    const rig = new Rig();
    const arp = arpFrame({ op: 'request', senderMac: A.mac, senderIp: A.ip, targetIp: '10.0.0.1' });
    const v = rig.send(A.port, arp);
    assert.equal(v.forwarded, true);
    assert.equal(v.egressPort, UPLINK);
    assert.equal(v.ruleId, 0);
    const lldp = ethernet({
      dst: '01:80:c2:00:00:0e',
      src: A.mac,
      etherType: 0x88cc,
      payload: new Uint8Array(46),
    });
    assert.equal(rig.send(A.port, lldp).reason, 'NOT_IP');
    assert.deepEqual(rig.counter(COUNTERS.drops.name, Reason.NOT_IP), bytes(lldp.length));
  });

  it('reads no ports from IPv4 with options or from non-first fragments, but does from a first fragment', () => {
    const rig = new Rig();
    rig.rule(A.id, 10, 'allow', { rule_id: 443n, flags: 0n }, { port: range(443n, 443n) });
    const options = tcpFrom(A, WEB, 443, { ipv4: { options: Uint8Array.of(1, 1, 1, 1) } });
    let v = rig.send(A.port, options);
    assert.equal(v.reason, 'NO_MATCH');
    assert.equal(rig.out.digests[0].members[6], 0n, 'dst_port 0 in the digest');
    const later = tcpFrom(A, WEB, 443, { ipv4: { fragmentOffset: 100 } });
    assert.equal(rig.send(A.port, later).reason, 'NO_MATCH');
    const firstFragment = tcpFrom(A, WEB, 443, { ipv4: { moreFragments: true } });
    v = rig.send(A.port, firstFragment);
    assert.equal(v.forwarded, true);
    assert.equal(v.ruleId, 443);
  });

  it('matches IPv6 on the v6 ACL and reads no ports behind an extension header', () => {
    const rig = new Rig();
    const net = parseIPv6('2001:db8::');
    const mask = ((1n << 32n) - 1n) << 96n;
    rig.rule(
      A.id,
      10,
      'allow',
      { rule_id: 600n, flags: 0n },
      { dst: ternary(net, mask), protocol: TCP, port: range(443n, 443n) },
      6,
    );
    const frame = tcpFrom(A, '2001:db8::1', 443);
    const v = rig.send(A.port, frame);
    assert.equal(v.ruleId, 600);
    assert.equal(v.forwarded, true);
    assert.equal(rig.send(A.port, tcpFrom(A, '2001:db9::1', 443)).reason, 'NO_MATCH');
    assert.equal(rig.send(A.port, tcpFrom(A, WEB, 443)).reason, 'NO_MATCH', 'the v4 ACL is separate');
    const hbh = tcpFrom(A, '2001:db8::1', 443, { ipv6: { hopByHop: true } });
    assert.equal(rig.send(A.port, hbh).reason, 'NO_MATCH');
    const digest = rig.out.digests[rig.out.digests.length - 1].members;
    assert.deepEqual([digest[1], digest[4], digest[6]], [6n, 0n, 0n], 'version 6, next_hdr 0, no port');
  });

  it('allows a quota up to the budget exactly and drops the packet that would exceed it', () => {
    const rig = new Rig();
    const slot = 12;
    const frame = tcpFrom(A, WEB, 443);
    const len = BigInt(frame.length);
    rig.rule(A.id, 10, 'allowQuota', {
      rule_id: 70n,
      flags: 0n,
      quota_slot: BigInt(slot),
      budget: 2n * len,
      meter_index: 0n,
    });
    assert.equal(rig.send(A.port, frame).forwarded, true);
    assert.equal(rig.send(A.port, frame).forwarded, true, 'used + length == budget is allowed');
    const quotaUsed = rig.state.register(REGISTERS.quotaUsed.name);
    assert.equal(quotaUsed[slot], 2n * len);
    const v = rig.send(A.port, frame);
    assert.equal(v.forwarded, false);
    assert.equal(v.reason, 'QUOTA');
    assert.equal(quotaUsed[slot], 2n * len, 'a dropped packet uses nothing');
    assert.deepEqual(rig.counter(COUNTERS.quotaDrops.name, slot), bytes(frame.length));
    assert.deepEqual(rig.counter(COUNTERS.drops.name, Reason.QUOTA), bytes(frame.length));
    assert.deepEqual(
      rig.out.digests.map((d) => [d.members[7], d.members[8]]),
      [[70n, BigInt(Reason.QUOTA)]],
    );
  });

  it('drops a packet one byte over the remaining quota', () => {
    const rig = new Rig();
    const frame = tcpFrom(A, WEB, 443);
    const len = BigInt(frame.length);
    rig.rule(A.id, 10, 'allowQuota', {
      rule_id: 71n,
      flags: 0n,
      quota_slot: 3n,
      budget: 2n * len - 1n,
      meter_index: 0n,
    });
    assert.equal(rig.send(A.port, frame).forwarded, true);
    assert.equal(rig.send(A.port, frame).reason, 'QUOTA');
    assert.equal(rig.state.register(REGISTERS.quotaUsed.name)[3], len);
    assert.deepEqual(rig.counter(COUNTERS.quotaDrops.name, 3), bytes(frame.length));
  });

  it('drops red packets of a rate-limited rule, without a digest, and recovers with time', () => {
    const rig = new Rig();
    const frame = tcpFrom(A, WEB, 443); // 154 bytes
    const len = frame.length;
    rig.rule(A.id, 10, 'allowRate', { rule_id: 80n, flags: 0n, meter_index: 5n });
    // PIR 1000 B/s with a burst of two frames; CIR below it.
    writeMeter(rig.state, {
      meter: METERS.rate.name,
      index: 5,
      cir: 500n,
      cburst: BigInt(len),
      pir: 1000n,
      pburst: BigInt(2 * len),
    });
    const results = [1, 2, 3].map(() => rig.send(A.port, frame));
    assert.deepEqual(
      results.map((v) => v.reason),
      ['NONE', 'NONE', 'RATE'],
      'green, yellow (forwarded), red',
    );
    assert.deepEqual(rig.counter(COUNTERS.drops.name, Reason.RATE), bytes(len));
    assert.equal(rig.out.digests.length, 0, 'rate drops send no digest');
    // 1000 B/s is 1 byte per ms: after len ms there are len tokens again.
    rig.now += BigInt(len) * 1_000_000n - 1n;
    assert.equal(rig.send(A.port, frame).reason, 'RATE', 'one nanosecond short of the refill');
    rig.now += 1n;
    assert.equal(rig.send(A.port, frame).reason, 'NONE');
  });

  it('blocks an agent past its exfiltration limit (strictly greater) except towards trusted rules', () => {
    const rig = new Rig();
    rig.agent(A.port, A.id, 0, 1000n);
    rig.rule(A.id, 10, 'allow', { rule_id: 90n, flags: 0n }, { dst: v4net('93.184.216.0', 24) });
    rig.rule(
      A.id,
      10,
      'allow',
      { rule_id: 91n, flags: BigInt(RuleFlag.TRUSTED) },
      { dst: v4net('10.1.0.0', 16) },
    );
    writeRegister(rig.state, { register: REGISTERS.sensitiveRxBytes.name, index: A.id, value: 1000n });
    assert.equal(rig.send(A.port, tcpFrom(A, WEB, 443)).forwarded, true, 'tally == limit is not over it');
    writeRegister(rig.state, { register: REGISTERS.sensitiveRxBytes.name, index: A.id, value: 1001n });
    const v = rig.send(A.port, tcpFrom(A, WEB, 443));
    assert.equal(v.reason, 'EXFIL');
    assert.equal(v.ruleId, 90);
    assert.equal(rig.send(A.port, tcpFrom(A, '10.1.2.3', 443)).forwarded, true, 'trusted destination');
    const arp = arpFrame({ op: 'request', senderMac: A.mac, senderIp: A.ip, targetIp: '10.0.0.1' });
    assert.equal(rig.send(A.port, arp).forwarded, true, 'ARP has no rule, so no exfil check');
  });

  it('forwards and counts policy drops of an audited agent or rule, with audit = 1 in the digest', () => {
    const rig = new Rig();
    const frame = tcpFrom(B, WEB, 443);
    let v = rig.send(B.port, frame);
    assert.deepEqual([v.forwarded, v.audited, v.reason, v.egressPort], [true, true, 'NO_MATCH', UPLINK]);
    rig.rule(
      A.id,
      10,
      'deny',
      { rule_id: 55n, flags: BigInt(RuleFlag.AUDIT) },
      { dst: v4net('93.184.216.0', 24) },
    );
    const fromA = tcpFrom(A, WEB, 443);
    v = rig.send(A.port, fromA);
    assert.deepEqual([v.forwarded, v.audited, v.reason, v.ruleId], [true, true, 'DENY_RULE', 55]);
    assert.deepEqual(rig.counter(COUNTERS.audits.name, Reason.NO_MATCH), bytes(frame.length));
    assert.deepEqual(rig.counter(COUNTERS.audits.name, Reason.DENY_RULE), bytes(fromA.length));
    assert.equal(rig.counter(COUNTERS.drops.name, Reason.NO_MATCH).packets, 0n);
    assert.equal(rig.counter(COUNTERS.drops.name, Reason.DENY_RULE).packets, 0n);
    assert.deepEqual(
      rig.out.digests.map((d) => d.members[9]),
      [1n, 1n],
    );
    assert.equal(rig.send(A.port, tcpFrom(A, '1.1.1.1', 443)).audited, false, 'rule audit does not spread');
  });

  it('delivers uplink frames by destination MAC and tallies bytes from sensitive sources', () => {
    const rig = new Rig();
    rig.write({
      table: TABLES.sensitiveV4.name,
      match: { src_addr: { kind: 'lpm', value: parseIPv4('172.16.0.0'), prefixLen: 12 } },
      action: ACTIONS.sensitive.name,
      params: {},
    });
    const reply = (src: string, dstMac: string) =>
      ipFrame({
        srcMac: GATEWAY,
        dstMac,
        src,
        dst: A.ip,
        transport: { proto: 'tcp', srcPort: 443, dstPort: 40000 },
        payloadSize: 500,
      });
    const sensitive = reply('172.20.1.1', A.mac);
    let v = rig.send(UPLINK, sensitive);
    assert.deepEqual([v.forwarded, v.egressPort, v.agentId, v.role], [true, A.port, A.id, 'uplink']);
    const plain = reply('8.8.8.8', A.mac);
    rig.send(UPLINK, plain);
    const tally = rig.state.register(REGISTERS.sensitiveRxBytes.name);
    assert.equal(tally[A.id], BigInt(sensitive.length), 'only the sensitive source counts');
    const sensitiveEntry = [...rig.state.table(TABLES.sensitiveV4.name).entries.values()][0];
    assert.deepEqual({ ...sensitiveEntry.counter }, bytes(sensitive.length));
    v = rig.send(UPLINK, reply('172.20.1.1', '02:00:00:00:00:55'));
    assert.equal(v.reason, 'NO_ROUTE');
    assert.equal(v.forwarded, false);
    assert.equal(rig.counter(COUNTERS.drops.name, Reason.NO_ROUTE).packets, 1n);
    assert.equal(tally[A.id], BigInt(sensitive.length), 'no route, no tally');
  });

  it('treats a zero-length sensitive prefix as every source', () => {
    const rig = new Rig();
    rig.write({ table: TABLES.sensitiveV6.name, match: {}, action: ACTIONS.sensitive.name, params: {} });
    const frame = ipFrame({
      srcMac: GATEWAY,
      dstMac: B.mac,
      src: '2001:db8::99',
      dst: B.ip6,
      transport: { proto: 'udp', srcPort: 53, dstPort: 5353 },
      payloadSize: 10,
    });
    rig.send(UPLINK, frame);
    assert.equal(rig.state.register(REGISTERS.sensitiveRxBytes.name)[B.id], BigInt(frame.length));
  });

  it('answers a report-mode PacketOut with a PacketIn carrying the verdict; the header counts as bytes', () => {
    const rig = new Rig();
    const rule = rig.rule(A.id, 10, 'allow', { rule_id: 101n, flags: 0n }, { port: range(443n, 443n) });
    const frame = tcpFrom(A, WEB, 443);
    // packet_out: ingress_port = A.port (9 bits), report = 1, pad.
    const header = Buffer.alloc(2);
    header.writeUInt16BE((A.port << 7) | (1 << 6));
    const v = rig.send(CPU_PORT, Buffer.concat([header, frame]));
    assert.equal(v.inPort, A.port);
    assert.equal(v.report, true);
    assert.equal(v.packetLength, frame.length + 2);
    assert.deepEqual({ ...rule.counter }, bytes(frame.length + 2));
    const ids = rig.state.p4info.packetMetadata.get(PACKET_METADATA.packetIn.name).metadataByName;
    const meta = v.packetIn!.metadata;
    assert.deepEqual(
      ['ingress_port', 'egress_port', 'reason', 'rule_id'].map((n) => meta.get(ids.get(n)!.id)),
      [BigInt(A.port), BigInt(UPLINK), 0n, 101n],
    );
    assert.ok(v.packetIn!.payload.equals(Buffer.from(frame)), 'the frame without packet_out');
    const dropped = rig.send(CPU_PORT, Buffer.concat([header, tcpFrom(A, WEB, 80)]));
    assert.deepEqual(
      ['egress_port', 'reason', 'rule_id'].map((n) => dropped.packetIn!.metadata.get(ids.get(n)!.id)),
      [0n, BigInt(Reason.NO_MATCH), 0n],
    );
  });

  it('processes a PacketOut without report like a frame on its ingress port', () => {
    const rig = new Rig();
    rig.rule(A.id, 10, 'allow', { rule_id: 5n, flags: 0n });
    const header = Buffer.alloc(2);
    header.writeUInt16BE(A.port << 7);
    const v = rig.send(CPU_PORT, Buffer.concat([header, tcpFrom(A, WEB, 443)]));
    assert.deepEqual([v.forwarded, v.egressPort, v.report, v.packetIn], [true, UPLINK, false, undefined]);
  });

  it('lets truncated headers stay invalid and the frame continue, as bmv2 parser errors do', () => {
    const rig = new Rig();
    rig.rule(A.id, 10, 'allow', { rule_id: 5n, flags: 0n }, { port: range(0n, 0n) });
    const full = tcpFrom(A, WEB, 443);
    // Ethernet + IPv4 + 2 bytes of TCP: the l4 header is invalid, ports read 0.
    const shortL4 = full.subarray(0, 14 + 20 + 2);
    assert.equal(rig.send(A.port, shortL4).ruleId, 5);
    // Ethernet + 10 bytes of IPv4: not IP.
    assert.equal(rig.send(A.port, full.subarray(0, 24)).reason, 'NOT_IP');
    // Less than an Ethernet header: the MAC guard cannot match.
    assert.equal(rig.send(A.port, full.subarray(0, 10)).reason, 'SPOOFED');
  });

  it('sees a MODIFY at once and keeps the modified entry in its tie position', () => {
    const rig = new Rig();
    const first = rig.rule(A.id, 10, 'allow', { rule_id: 1n, flags: 0n }, { protocol: TCP });
    rig.rule(A.id, 10, 'allow', { rule_id: 2n, flags: 0n }, { port: range(443n, 443n) });
    rig.rule(B.id, 10, 'allow', { rule_id: 3n, flags: 0n });
    const frame = tcpFrom(A, WEB, 443);
    assert.equal(rig.send(A.port, frame).ruleId, 1);
    const acl = rig.state.table(TABLES.aclV4.name);
    const ruleId = rig.state.p4info.action(ACTIONS.deny.name).paramsByName.get('rule_id')!.id;
    const flags = rig.state.p4info.action(ACTIONS.deny.name).paramsByName.get('flags')!.id;
    acl.modify({
      matches: first.matches,
      priority: first.priority,
      actionId: rig.state.p4info.action(ACTIONS.deny.name).id,
      params: new Map([
        [ruleId, 11n],
        [flags, 0n],
      ]),
      metadata: Buffer.alloc(0),
    });
    const v = rig.send(A.port, frame);
    assert.deepEqual([v.reason, v.ruleId], ['DENY_RULE', 11]);
    assert.equal(rig.send(B.port, tcpFrom(B, WEB, 443)).ruleId, 3, 'other agents unaffected');
  });

  it('leaves out-of-range register and meter indices alone, as simple_switch does', () => {
    const rig = new Rig();
    // Agent 5000 has no sensitive_rx_bytes cell (4096 of them): the tally reads 0, so an exfil limit
    // of 0 is not exceeded; meter index 4100 is past rate_meter's 4096 cells and reads green.
    rig.agent(A.port, 5000, 0, 0n);
    rig.write({
      table: TABLES.macGuard.name,
      match: { agent_id: exact(5000n), src_mac: exact(parseMac(A.mac)) },
      action: ACTIONS.sourceOk.name,
      params: {},
    });
    rig.write({
      table: TABLES.ipv4Guard.name,
      match: { agent_id: exact(5000n), src_addr: exact(parseIPv4(A.ip)) },
      action: ACTIONS.sourceOk.name,
      params: {},
    });
    rig.rule(5000, 1, 'allowRate', { rule_id: 1n, flags: 0n, meter_index: 4100n });
    const v = rig.send(A.port, tcpFrom(A, WEB, 443));
    assert.deepEqual([v.forwarded, v.agentId], [true, 5000]);
    // Bytes from a sensitive source for agent 5000: the write past the end is dropped.
    rig.write({ table: TABLES.sensitiveV4.name, match: {}, action: ACTIONS.sensitive.name, params: {} });
    rig.write({
      table: TABLES.hostRoute.name,
      match: { dst_mac: exact(0x020000001388n) },
      action: ACTIONS.toHost.name,
      params: { port: 1n, agent_id: 5000n },
    });
    const reply = ipFrame({
      srcMac: GATEWAY,
      dstMac: '02:00:00:00:13:88',
      src: WEB,
      dst: A.ip,
      transport: { proto: 'udp', srcPort: 1, dstPort: 2 },
    });
    assert.equal(rig.send(UPLINK, reply).forwarded, true);
    const tally = rig.state.register(REGISTERS.sensitiveRxBytes.name);
    assert.equal(tally.length, REGISTERS.sensitiveRxBytes.size);
    assert.ok(tally.every((cell) => cell === 0n));
  });

  it('drops frames sent to the drop port and hands frames sent to the CPU port to the controller', () => {
    const rig = new Rig();
    rig.rule(A.id, 1, 'allow', { rule_id: 1n, flags: 0n });
    // The uplink of agent 7 is the CPU port: PI reads the frame's first 8 bytes as packet_in.
    rig.write({
      table: TABLES.portMap.name,
      match: { ingress_port: exact(6n) },
      action: ACTIONS.agentPort.name,
      params: {
        agent_id: BigInt(A.id),
        uplink_port: BigInt(CPU_PORT),
        flags: 0n,
        exfil_limit: NO_EXFIL_LIMIT,
      },
    });
    const frame = tcpFrom(A, WEB, 443);
    const v = rig.send(6, frame);
    assert.equal(v.egressPort, CPU_PORT);
    assert.ok(v.packetIn!.payload.equals(Buffer.from(frame.subarray(8))));
    const ids = rig.state.p4info.packetMetadata.get(PACKET_METADATA.packetIn.name).metadataByName;
    // ingress_port is the top 9 bits of the destination MAC 02:00:00:00:00:fe.
    assert.equal(v.packetIn!.metadata.get(ids.get('ingress_port')!.id), 0x02n << 1n);
    rig.write({
      table: TABLES.portMap.name,
      match: { ingress_port: exact(16n) },
      action: ACTIONS.agentPort.name,
      params: { agent_id: BigInt(A.id), uplink_port: 511n, flags: 0n, exfil_limit: NO_EXFIL_LIMIT },
    });
    const dropped = rig.send(16, frame);
    assert.deepEqual([dropped.forwarded, dropped.egressPort, dropped.reason], [false, undefined, 'NONE']);
  });

  it('re-indexes when entries change between packets', () => {
    const rig = new Rig();
    const frame = tcpFrom(A, WEB, 443);
    assert.equal(rig.send(A.port, frame).reason, 'NO_MATCH');
    const spec = rig.rule(A.id, 10, 'allow', { rule_id: 5n, flags: 0n });
    assert.equal(rig.send(A.port, frame).ruleId, 5);
    rig.state.table(TABLES.aclV4.name).delete(spec.key);
    assert.equal(rig.send(A.port, frame).reason, 'NO_MATCH');
  });
});
