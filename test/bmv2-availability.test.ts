// Whether the checks against real bmv2 can run here. They live in their own suite (npm run test:bmv2)
// because bmv2 and p4c are not nicguard's to install; this makes the ordinary run say, as a pending
// test, what is missing rather than pass quietly over it.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { loadNicguardPipeline } from '../controller/pipeline/artifacts';
import { bmv2Availability } from '../controller/scenario/bmv2';

describe('checks against real bmv2', () => {
  it('run with npm run test:bmv2 where simple_switch_grpc and p4c are installed', function () {
    const available = bmv2Availability(['p4c']);
    if (!available.ok) {
      this.test!.title = `bmv2 checks skipped: ${available.missing}`;
      this.skip();
    }
    if (!available.ok) return;
    // The committed bmv2 JSON and P4Info must come from the same compile: every table the P4Info
    // names is one the bmv2 program has.
    const program = JSON.parse(readFileSync(available.json, 'utf8')) as {
      pipelines: { tables: { name: string }[] }[];
    };
    const inJson = new Set(program.pipelines.flatMap((p) => p.tables.map((t) => t.name)));
    const p4info = loadNicguardPipeline().p4info;
    for (const table of p4info.message.tables ?? []) {
      assert.ok(inJson.has(table.preamble!.name!), `${table.preamble!.name} is not in ${available.json}`);
    }
    console.log('      bmv2 and p4c are installed: run npm run test:bmv2 for the differential test');
  });
});
