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

async function sendAll(client: grpc.Client, requests: readonly Buffer[]): Promise<number> {
  const started = process.hrtime.bigint();
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
  return Number(process.hrtime.bigint() - started) / 1e9;
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

  const rows: BenchRow[] = [];
  // Client and floor alternate over rounds so that warm-up and GC drift hit both alike; best round counts.
  let clientBest = Infinity;
  let floorBest = Infinity;
  for (let round = 0; round < 4; round++) {
    {
      const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: DEVICE_ID });
      const client = await primaryClient(nic.address, p4info);
      const started = process.hrtime.bigint();
      await client.write(ops);
      clientBest = Math.min(clientBest, Number(process.hrtime.bigint() - started) / 1e9);
      client.close();
      nic.kill();
    }
    {
      const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: DEVICE_ID });
      const session = await primaryClient(nic.address, p4info);
      const raw = rawWriter(nic.address);
      floorBest = Math.min(floorBest, await sendAll(raw, requests));
      raw.close();
      session.close();
      nic.kill();
    }
  }
  const noop = await noopServer();
  const raw = rawWriter(noop.address);
  await sendAll(raw, requests);
  const noopSeconds = await sendAll(raw, requests);
  raw.close();
  noop.stop();

  rows.push({
    name: 'client write, 100k acl_v4 entries',
    value: ENTRIES / clientBest,
    unit: 'entries/s',
    goal: '≥ 100k/s',
    ratio: clientBest / floorBest,
  });
  rows.push({ name: 'floor: pre-encoded writes to softnic', value: ENTRIES / floorBest, unit: 'entries/s' });
  rows.push({
    name: 'floor: pre-encoded writes to no-op server',
    value: ENTRIES / noopSeconds,
    unit: 'entries/s',
  });
  rows.push({ name: 'client/floor time ratio', value: clientBest / floorBest, unit: 'x', goal: '≤ 1.3' });
  return rows;
}
