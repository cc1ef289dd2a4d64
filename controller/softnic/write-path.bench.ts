// Speed of the softnic's Write path with nicguard's widest table (acl_v4: exact + 2 ternary + range,
// priority, two action parameters). Not a test: run `node dist/controller/softnic/write-path.bench.js`.
//
//   validate+store   pre-encoded WriteRequests through WriteProcessor.applyEncoded, no gRPC
//   grpc, encoded    server over loopback gRPC, requests serialised once up front: the server's cost
//   grpc, objects    the same through proto-loader stubs, i.e. with client-side object conversion
//   read back (all)  one wildcard Read of the 100k entries, decoded by the proto-loader client

import * as fs from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { loadP4Info } from '../p4runtime/p4info';
import {
  encodeMessage,
  loadP4RuntimeGrpc,
  PROTO_DIR,
  type Update,
  type WriteRequest,
} from '../p4runtime/proto';
import { encodeUnsigned } from '../p4runtime/values';
import { Pipeline } from './pipeline';
import { Softnic } from './server';
import { SystemClock } from './clock';
import { PipelineState } from './state';
import { frameWriteRequest } from './wire';
import { rawClient, readEntities, setPipeline, TestStream } from '../../test/support/raw-p4rt';

const TOTAL = 100_000;
const BATCH = 1_000;

function p4infoPath(): string {
  return path.join(path.dirname(PROTO_DIR), 'p4', 'build', 'nicguard.p4info.json');
}

function aclUpdates(p4info: ReturnType<typeof loadP4Info>, from: number, count: number): Update[] {
  const table = p4info.table('acl_v4');
  const allow = p4info.action('allow');
  const updates: Update[] = [];
  for (let i = from; i < from + count; i++) {
    updates.push({
      type: 'INSERT',
      entity: {
        table_entry: {
          table_id: table.id,
          priority: 1 + (i % 1000),
          match: [
            { field_id: 1, exact: { value: encodeUnsigned(i % 512, 16) } },
            {
              field_id: 2,
              ternary: { value: encodeUnsigned(0x0a000000 + i, 32), mask: encodeUnsigned(0xffffffff, 32) },
            },
            { field_id: 3, ternary: { value: encodeUnsigned(6, 8), mask: encodeUnsigned(0xff, 8) } },
            { field_id: 4, range: { low: encodeUnsigned(443, 16), high: encodeUnsigned(443, 16) } },
          ],
          action: {
            action: {
              action_id: allow.id,
              params: [
                { param_id: 1, value: encodeUnsigned(i, 32) },
                { param_id: 2, value: encodeUnsigned(0, 8) },
              ],
            },
          },
          metadata: Buffer.from(`rule-${i}`),
        },
      },
    });
  }
  return updates;
}

function request(p4info: ReturnType<typeof loadP4Info>, batch: number): WriteRequest {
  return { device_id: '1', election_id: { low: '1' }, updates: aclUpdates(p4info, batch * BATCH, BATCH) };
}

function rate(label: string, ns: bigint): void {
  const seconds = Number(ns) / 1e9;
  console.log(
    `${label.padEnd(18)} ${(TOTAL / seconds).toFixed(0).padStart(9)} entries/s   ` +
      `${(Number(ns) / TOTAL / 1000).toFixed(2)} µs/entry`,
  );
}

async function main(): Promise<void> {
  const json = fs.readFileSync(p4infoPath(), 'utf8');
  const p4info = loadP4Info(json);
  // Only the encoded form is kept: holding 100k request objects would tax every GC the bench runs.
  const encoded: Buffer[] = [];
  for (let b = 0; b < TOTAL / BATCH; b++)
    encoded.push(encodeMessage('p4.v1.WriteRequest', request(p4info, b)));

  // validate+store
  for (let round = 0; round < 3; round++) {
    const state = new PipelineState({ p4info });
    const pipeline = new Pipeline(
      state,
      false,
      { digestList: () => undefined, packetIn: () => undefined },
      new SystemClock(),
    );
    const t0 = process.hrtime.bigint();
    for (const bytes of encoded) {
      const ranges = frameWriteRequest(bytes).updates;
      for (let i = 0; i < ranges.length; i += 2) {
        const err = pipeline.writes.applyEncoded(bytes, ranges[i], ranges[i + 1]);
        if (err) throw err;
      }
    }
    rate('validate+store', process.hrtime.bigint() - t0);
    pipeline.retire();
  }

  // Over gRPC.
  for (const mode of ['grpc, encoded', 'grpc, objects'] as const) {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    const client = rawClient(nic.address);
    const stream = new TestStream(client);
    stream.arbitrate(1);
    await stream.nextArbitration();
    const failed = await setPipeline(client, { p4info: p4info.message, electionLow: 1 });
    if (failed) throw new Error(failed.details);
    const { P4RuntimeService } = loadP4RuntimeGrpc();
    const rawWrite = new grpc.Client(nic.address, grpc.credentials.createInsecure());
    const send = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const cb = (err: grpc.ServiceError | null) => (err ? reject(err) : resolve());
        if (mode === 'grpc, encoded') {
          rawWrite.makeUnaryRequest(
            P4RuntimeService.Write.path,
            (b: Buffer) => b,
            (b: Buffer) => b,
            encoded[i],
            cb,
          );
        } else {
          client.Write(request(p4info, i), cb);
        }
      });
    const t0 = process.hrtime.bigint();
    // Two requests in flight, as a pipelining client would keep.
    let next = 0;
    const lane = async () => {
      while (next < encoded.length) await send(next++);
    };
    await Promise.all([lane(), lane()]);
    rate(mode, process.hrtime.bigint() - t0);
    if (nic.state!.table('acl_v4').entries.size !== TOTAL) throw new Error('entries missing');
    if (mode === 'grpc, encoded') {
      const r0 = process.hrtime.bigint();
      const read = await readEntities(client, [{ table_entry: { table_id: p4info.table('acl_v4').id } }]);
      if (read.entities.length !== TOTAL) throw new Error('read back too few entries');
      rate('read back (all)', process.hrtime.bigint() - r0);
    }
    rawWrite.close();
    stream.call.cancel();
    client.close();
    await nic.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
