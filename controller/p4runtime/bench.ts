// Client write throughput against floors measured in the same run:
//   client       100k EntrySpecs → DeviceClient.write → softnic over loopback gRPC
//   floor        the same WriteRequests, encoded beforehand, sent by a bare grpc-js loop to a
//                fresh softnic: what the server and transport cost without the client
//   no-op floor  the same requests to a server that accepts and discards them: the transport alone
// The ratio client/floor is the client's own overhead; the goal is ≤ 1.3.

import * as grpc from '@grpc/grpc-js';
import * as fs from 'fs';
import * as path from 'path';
import type { BenchRow } from '../bench';
import type { EntrySpec } from '../pipeline/entries';
import { Softnic } from '../softnic/server';
import { DeviceClient } from './client';
import { codecFor } from './entities';
import { loadP4Info, type P4InfoIndex } from './p4info';
import { encodeUpdates, planBatches, writeRequestHeader, type WriteOp } from './write';
import { toUint128 } from './arbitration';

const ENTRIES = 100_000;
const BATCH = 256;
const DEVICE_ID = 1n;
const ELECTION_ID = 1n;

function findP4Info(): P4InfoIndex {
  let dir = __dirname;
  for (;;) {
    const file = path.join(dir, 'p4', 'build', 'nicguard.p4info.json');
    if (fs.existsSync(file)) return loadP4Info(fs.readFileSync(file, 'utf8'));
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('p4/build/nicguard.p4info.json not found');
    dir = parent;
  }
}

/** 100k distinct IPv4 ACL entries shaped like the compiler's: exact agent, ternary address, port range. */
function aclEntries(count: number): EntrySpec[] {
  const entries: EntrySpec[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      table: 'NicguardIngress.acl_v4',
      match: {
        agent_id: { kind: 'exact', value: BigInt(1 + (i % 500)) },
        dst_addr: { kind: 'ternary', value: BigInt(0x0a000000 + (i << 4)), mask: 0xfffffff0n },
        protocol: { kind: 'ternary', value: 6n, mask: 0xffn },
        dst_port: { kind: 'range', low: 443n, high: 443n + BigInt(i % 7) },
      },
      priority: 1 + (i % 1000),
      action: 'NicguardIngress.allow',
      params: { rule_id: BigInt(i), flags: 0n },
    });
  }
  return entries;
}

async function primaryClient(address: string, p4info: P4InfoIndex): Promise<DeviceClient> {
  const client = await DeviceClient.connect({
    address,
    deviceId: DEVICE_ID,
    electionId: ELECTION_ID,
    insecure: true,
    profile: 'softnic',
    maxUpdatesPerBatch: BATCH,
    reconnect: false,
  });
  await client.ensurePipeline({ p4info, deviceConfig: Buffer.alloc(0) });
  return client;
}

function rawWriter(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

/** Wall-clock and CPU seconds of this process (client and server both run in it). */
interface Cost {
  wall: number;
  cpu: number;
}

async function measure(run: () => Promise<unknown>): Promise<Cost> {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await run();
  const used = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - wall) / 1e9, cpu: (used.user + used.system) / 1e6 };
}

function best(a: Cost, b: Cost): Cost {
  return { wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu) };
}

async function sendAll(client: grpc.Client, requests: readonly Buffer[]): Promise<void> {
  for (const request of requests) {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        '/p4.v1.P4Runtime/Write',
        (b: Buffer) => b,
        () => ({}),
        request,
        new grpc.Metadata(),
        {},
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
}

/** A P4Runtime-shaped server whose Write accepts anything and keeps nothing. */
async function noopServer(): Promise<{ address: string; stop: () => void }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const definition: grpc.ServiceDefinition = {
    Write: {
      path: '/p4.v1.P4Runtime/Write',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: () => ({}),
    },
  };
  server.addService(definition, {
    Write: (_call: unknown, callback: grpc.sendUnaryData<object>) => callback(null, {}),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

export async function benchClient(): Promise<BenchRow[]> {
  const p4info = findP4Info();
  const entries = aclEntries(ENTRIES);
  const ops: WriteOp[] = entries.map((entry) => ({ type: 'INSERT', entry }));

  // Pre-encoded requests for the floors: exactly what the client sends.
  const encoded = encodeUpdates(ops, codecFor(p4info));
  const header = writeRequestHeader(DEVICE_ID, '', toUint128(ELECTION_ID), 'CONTINUE_ON_ERROR');
  const requests = planBatches(encoded.offsets, {
    maxUpdates: BATCH,
    maxBytes: 4 * 1024 * 1024 - 64 * 1024,
  }).map((b) =>
    Buffer.concat([header, encoded.bytes.subarray(encoded.offsets[b.start], encoded.offsets[b.end])]),
  );

  // Client and floor alternate over rounds so that warm-up and GC drift hit both alike; the best
  // round counts. CPU time is reported beside wall time: on a shared machine the wall clock also
  // measures the neighbours, CPU time only this process (client and server together).
  let client: Cost = { wall: Infinity, cpu: Infinity };
  let floor: Cost = { wall: Infinity, cpu: Infinity };
  for (let round = 0; round < 4; round++) {
    {
      const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: DEVICE_ID });
      const session = await primaryClient(nic.address, p4info);
      client = best(client, await measure(() => session.write(ops)));
      session.close();
      nic.kill();
    }
    {
      const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: DEVICE_ID });
      const session = await primaryClient(nic.address, p4info);
      const raw = rawWriter(nic.address);
      floor = best(floor, await measure(() => sendAll(raw, requests)));
      raw.close();
      session.close();
      nic.kill();
    }
  }
  const noop = await noopServer();
  const raw = rawWriter(noop.address);
  let transport: Cost = { wall: Infinity, cpu: Infinity };
  for (let round = 0; round < 3; round++)
    transport = best(transport, await measure(() => sendAll(raw, requests)));
  raw.close();
  noop.stop();

  return [
    {
      name: 'client write, 100k acl_v4 entries to softnic',
      value: ENTRIES / client.wall,
      unit: 'entries/s',
      goal: '≥ 100k/s',
    },
    { name: 'floor: same requests pre-encoded, to softnic', value: ENTRIES / floor.wall, unit: 'entries/s' },
    { name: 'client/floor, wall time', value: client.wall / floor.wall, unit: 'x', goal: '≤ 1.3' },
    {
      name: 'client write, per CPU second',
      value: ENTRIES / client.cpu,
      unit: 'entries/s',
      goal: '≥ 100k/s',
    },
    { name: 'floor, per CPU second', value: ENTRIES / floor.cpu, unit: 'entries/s' },
    { name: 'client/floor, CPU time', value: client.cpu / floor.cpu, unit: 'x', goal: '≤ 1.3' },
    {
      name: 'transport floor: pre-encoded, to a no-op server',
      value: ENTRIES / transport.wall,
      unit: 'entries/s',
    },
  ];
}
