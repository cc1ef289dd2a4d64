// The softnic serving nicguard's own compiled program (p4/build/nicguard.p4info.json) to a raw
// P4Runtime client: the pipeline installs, and the program's tables, registers and digest behave as
// bmv2's server would make them behave.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { loadP4Info, type P4InfoIndex } from '../controller/p4runtime/p4info';
import { encodeUnsigned, parseIPv4 } from '../controller/p4runtime/values';
import { TABLES } from '../controller/pipeline/contract';
import { Softnic } from '../controller/softnic/server';
import {
  asReceived,
  connectPrimary,
  readEntities,
  writeUpdates,
  type PrimarySession,
} from './support/raw-p4rt';
import type { TableEntry, Update } from '../controller/p4runtime/proto';

function nicguardP4Info(): P4InfoIndex {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'p4', 'build', 'nicguard.p4info.json'))) dir = path.dirname(dir);
  return loadP4Info(fs.readFileSync(path.join(dir, 'p4', 'build', 'nicguard.p4info.json'), 'utf8'));
}

describe('softnic serving the nicguard program', () => {
  let p4info: P4InfoIndex;
  let nic: Softnic;
  let s: PrimarySession;

  before(() => {
    p4info = nicguardP4Info();
  });
  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    s = await connectPrimary(nic.address, p4info.message);
  });
  afterEach(async () => {
    s.close();
    await nic.stop();
  });

  function aclEntry(agent: number, dst: string, action: string, priority: number): TableEntry {
    const table = p4info.table(TABLES.aclV4.name);
    const a = p4info.action(action);
    return {
      table_id: table.id,
      priority,
      match: [
        { field_id: p4info.matchField(table, 'agent_id').id, exact: { value: encodeUnsigned(agent, 16) } },
        {
          field_id: p4info.matchField(table, 'dst_addr').id,
          ternary: { value: encodeUnsigned(parseIPv4(dst), 32), mask: encodeUnsigned(0xffffff00, 32) },
        },
      ],
      action: {
        action: {
          action_id: a.id,
          params: a.params.map((p) => ({ param_id: p.id, value: encodeUnsigned(1, p.bitwidth) })),
        },
      },
      metadata: Buffer.from(`policy=p1 rule=${agent}`),
    };
  }

  it('stores and reads back ACL entries, with direct counters', async () => {
    const e = aclEntry(7, '10.1.2.0', 'NicguardIngress.allow', 100);
    assert.strictEqual(
      await writeUpdates(s.client, 1, [{ type: 'INSERT', entity: { table_entry: e } }]),
      undefined,
    );
    const r = await readEntities(s.client, [{ table_entry: { table_id: e.table_id, counter_data: {} } }]);
    assert.deepStrictEqual(
      r.entities[0].table_entry,
      asReceived('p4.v1.TableEntry', { ...e, counter_data: { packet_count: '0', byte_count: '0' } }),
    );
    const stored = [...nic.state!.table(TABLES.aclV4.name).entries.values()][0];
    assert.strictEqual(stored.matches.get(2)?.kind, 'TERNARY');
  });

  it('refuses the miss action in an entry and changes to the const default, as bmv2 does', async () => {
    const table = p4info.table(TABLES.aclV4.name);
    const miss = aclEntry(1, '10.0.0.0', 'NicguardIngress.no_match', 1);
    const setDefault: TableEntry = {
      table_id: table.id,
      is_default_action: true,
      action: { action: { action_id: p4info.action('NicguardIngress.deny').id, params: [] } },
    };
    const updates: Update[] = [
      { type: 'INSERT', entity: { table_entry: miss } },
      { type: 'MODIFY', entity: { table_entry: setDefault } },
    ];
    const res = await writeUpdates(s.client, 1, updates);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code),
      [grpc.status.PERMISSION_DENIED, grpc.status.PERMISSION_DENIED],
    );
  });

  it('refuses register reads and writes as bmv2 does, and configures the deny digest', async () => {
    const quota = p4info.registers.get('NicguardIngress.quota_used');
    const digest = p4info.digests.all[0];
    const res = await writeUpdates(s.client, 1, [
      {
        type: 'MODIFY',
        entity: {
          register_entry: {
            register_id: quota.id,
            index: { index: '42' },
            data: { bitstring: encodeUnsigned(1n << 40n, 64) },
          },
        },
      },
      { type: 'INSERT', entity: { digest_entry: { digest_id: digest.id, config: { max_list_size: 1 } } } },
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code ?? 0),
      [grpc.status.UNIMPLEMENTED, 0],
    );
    assert.strictEqual(nic.state!.register(quota.id)[42], 0n);
    const r = await readEntities(s.client, [
      { register_entry: { register_id: quota.id, index: { index: '42' } } },
    ]);
    assert.strictEqual(r.failure?.errors[0].canonical_code, grpc.status.UNIMPLEMENTED);
    assert.ok(nic.state!.digestConfig.has(digest.id));
  });
});
