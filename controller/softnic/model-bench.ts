/**
 * Packet model benchmarks, run by the project's bench script: packets per second through nicguard's
 * pipeline on policies of realistic and of extreme size, and what re-indexing a large ACL costs
 * after a write. Entries are written straight into the store; frames come from the traffic library
 * and are built before the clock starts, so only the model is measured.
 */
import { loadNicguardPipeline } from '../pipeline/artifacts';
import { ACTIONS, CPU_PORT, NO_EXFIL_LIMIT, TABLES } from '../pipeline/contract';
import type { FieldValue } from '../pipeline/entries';
import { ipFrame } from '../traffic/frames';
import { packetOutHeader, packetOutMetadata } from './dataplane';
import { writeEntry } from './direct-write';
import { PacketModel } from './model';
import { PipelineState } from './state';
import type { BenchRow } from '../bench';

/** simple_switch's documented forwarding rate, -O3 without logging (bmv2 docs/performance.md). */
const BMV2_PACKETS_PER_SECOND = 80_000;
const UPLINK = 500;
const GATEWAY = 0x0200000000fen;

const exact = (value: bigint | number): FieldValue => ({ kind: 'exact', value: BigInt(value) });
const agentMac = (agent: number) => 0x020000000000n + BigInt(agent);
const agentIp = (agent: number) => `10.${agent >> 8}.${agent & 0xff}.1`;
/** Agents 1..499 own ports 1..499, CPU port excepted; the rest exist in the ACL only. */
const agentPort = (agent: number) => (agent < CPU_PORT ? agent : agent + 1);
const MAPPED_AGENTS = 498;

interface Device {
  state: PipelineState;
  model: PacketModel;
}

/**
 * `agents` agents with `rules` ACL rules each: rule k (priority rules - k) allows TCP to
 * 100.k.0.0/16 on ports 1000k..1000k+999, the last one denies everything left.
 */
function device(agents: number, rules: number): Device {
  const state = new PipelineState({ p4info: loadNicguardPipeline().p4info });
  const model = new PacketModel(state, { clock: () => 0n });
  writeEntry(state, {
    table: TABLES.portMap.name,
    match: { ingress_port: exact(UPLINK) },
    action: ACTIONS.uplinkPort.name,
    params: {},
  });
  for (let agent = 1; agent <= agents; agent++) {
    if (agent <= MAPPED_AGENTS) {
      writeEntry(state, {
        table: TABLES.portMap.name,
        match: { ingress_port: exact(agentPort(agent)) },
        action: ACTIONS.agentPort.name,
        params: {
          agent_id: BigInt(agent),
          uplink_port: BigInt(UPLINK),
          flags: 0n,
          exfil_limit: NO_EXFIL_LIMIT,
        },
      });
      writeEntry(state, {
        table: TABLES.macGuard.name,
        match: { agent_id: exact(agent), src_mac: exact(agentMac(agent)) },
        action: ACTIONS.sourceOk.name,
        params: {},
      });
      const ip = agentIp(agent)
        .split('.')
        .reduce((n, o) => n * 256n + BigInt(o), 0n);
      writeEntry(state, {
        table: TABLES.ipv4Guard.name,
        match: { agent_id: exact(agent), src_addr: exact(ip) },
        action: ACTIONS.sourceOk.name,
        params: {},
      });
      writeEntry(state, {
        table: TABLES.hostRoute.name,
        match: { dst_mac: exact(agentMac(agent)) },
        action: ACTIONS.toHost.name,
        params: { port: BigInt(agentPort(agent)), agent_id: BigInt(agent) },
      });
    }
    for (let k = 0; k < rules; k++) {
      const last = k === rules - 1;
      const match: Record<string, FieldValue> = { agent_id: exact(agent) };
      if (!last) {
        match.dst_addr = {
          kind: 'ternary',
          value: (100n << 24n) | (BigInt(k % 256) << 16n),
          mask: 0xffff0000n,
        };
        match.protocol = { kind: 'ternary', value: 6n, mask: 0xffn };
        match.dst_port = { kind: 'range', low: BigInt(1000 * (k % 60)), high: BigInt(1000 * (k % 60) + 999) };
      }
      writeEntry(state, {
        table: TABLES.aclV4.name,
        match,
        priority: rules - k,
        action: last ? ACTIONS.deny.name : ACTIONS.allow.name,
        params: { rule_id: BigInt(agent * 1000 + k), flags: 0n },
      });
    }
  }
  for (let i = 0; i < 1024; i++) {
    writeEntry(state, {
      table: TABLES.sensitiveV4.name,
      match: {
        src_addr: { kind: 'lpm', value: (172n << 24n) | (BigInt(i) << 12n), prefixLen: 20 + (i % 5) },
      },
      action: ACTIONS.sensitive.name,
      params: {},
    });
  }
  return { state, model };
}

/** Frames from mapped agents hitting rules at every depth, plus misses that fall to the deny rule. */
function agentFrames(count: number, rules: number): { port: number; frame: Uint8Array }[] {
  const frames: { port: number; frame: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const agent = 1 + (i % MAPPED_AGENTS);
    const k = (i * 7) % rules;
    frames.push({
      port: agentPort(agent),
      frame: ipFrame({
        srcMac: agentMac(agent),
        dstMac: GATEWAY,
        src: agentIp(agent),
        dst: `100.${k % 256}.${i & 0xff}.9`,
        transport: { proto: 'tcp', srcPort: 40000 + (i & 0xfff), dstPort: 1000 * (k % 60) + 443 },
        payloadSize: 64 + (i % 1400),
      }),
    });
  }
  return frames;
}

function uplinkFrames(count: number): { port: number; frame: Uint8Array }[] {
  const frames: { port: number; frame: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const agent = 1 + (i % MAPPED_AGENTS);
    frames.push({
      port: UPLINK,
      frame: ipFrame({
        srcMac: GATEWAY,
        dstMac: agentMac(agent),
        src: i % 2 === 0 ? `172.${(i >> 4) & 0x0f}.${i & 0xff}.1` : `8.8.${i & 0xff}.8`,
        dst: agentIp(agent),
        transport: { proto: 'tcp', srcPort: 443, dstPort: 40000 },
        payloadSize: 1400,
      }),
    });
  }
  return frames;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function rate(model: PacketModel, frames: { port: number; frame: Uint8Array }[], packets: number): number {
  // One untimed pass builds the indexes and warms the JIT.
  for (const f of frames) model.process(f.port, f.frame);
  const start = process.hrtime.bigint();
  for (let i = 0; i < packets; i++) {
    const f = frames[i % frames.length];
    model.process(f.port, f.frame);
  }
  return packets / seconds(start);
}

export async function benchModel(): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  const million = 1_000_000;

  const small = device(1000, 10);
  const pps = rate(small.model, agentFrames(4096, 10), million);
  out.push({
    name: 'softnic model: agent packets, 1000 agents x 10 rules (1M packets)',
    value: pps,
    unit: 'packets/s',
    goal: '>= 400000 (ratio vs bmv2 simple_switch >= 5)',
    ratio: pps / BMV2_PACKETS_PER_SECOND,
  });

  const upPps = rate(small.model, uplinkFrames(4096), million / 2);
  out.push({
    name: 'softnic model: uplink packets, 1024 sensitive prefixes',
    value: upPps,
    unit: 'packets/s',
    goal: '>= 400000',
  });

  const probes = agentFrames(512, 10).map((f) => ({
    port: CPU_PORT,
    frame: Buffer.concat([
      packetOutHeader(small.state, packetOutMetadata(small.state, f.port, true)),
      f.frame,
    ]),
  }));
  const probePps = rate(small.model, probes, million / 4);
  out.push({
    name: 'softnic model: report-mode probes (PacketIn built per packet)',
    value: probePps,
    unit: 'packets/s',
    goal: '>= 200000',
  });

  const big = device(1000, 100);
  const bigPps = rate(big.model, agentFrames(4096, 100), million);
  out.push({
    name: 'softnic model: agent packets, 1000 agents x 100 rules (100k ACL entries, 1M packets)',
    value: bigPps,
    unit: 'packets/s',
    goal: '>= 150000',
    ratio: bigPps / pps,
  });

  // A write bumps the generation; the next packet pays for re-indexing the whole table.
  const acl = big.state.table(TABLES.aclV4.name);
  const frames = agentFrames(1, 100);
  const rounds = 5;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    writeEntry(big.state, {
      table: TABLES.aclV4.name,
      match: { agent_id: exact(1), dst_port: { kind: 'range', low: BigInt(i), high: BigInt(i) } },
      priority: 5000 + i,
      action: ACTIONS.allow.name,
      params: { rule_id: 1n, flags: 0n },
    });
    big.model.process(frames[0].port, frames[0].frame);
  }
  out.push({
    name: `softnic model: re-index after a write to a ${acl.entries.size}-entry ACL`,
    value: (seconds(start) * 1000) / rounds,
    unit: 'ms',
    goal: '<= 500',
  });
  return out;
}

if (require.main === module) {
  benchModel().then(
    (rows) => {
      for (const r of rows) console.log(JSON.stringify(r));
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
