import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadP4Info } from '../p4runtime/p4info';
import { pipelineCookie } from '../p4runtime/client';
import { buildDir, loadNicguardPipeline } from './artifacts';
import { ContractError, checkContract, contractProblems } from './check';
import { DIGESTS, REGISTERS, TABLES } from './contract';
import { PROFILES } from './profiles';

function committedJson(): {
  tables: { preamble: { name: string }; matchFields: { name: string; bitwidth: number }[]; size: string }[];
  registers?: { preamble: { name: string }; typeSpec: { bitstring: { bit: { bitwidth: number } } } }[];
  digests?: unknown[];
} {
  return JSON.parse(readFileSync(join(buildDir(), 'nicguard.p4info.json'), 'utf8'));
}

describe('table contract vs P4Info', () => {
  it('the committed P4Info carries the whole contract', () => {
    const pipeline = loadNicguardPipeline();
    assert.deepEqual(contractProblems(pipeline.p4info), []);
    assert.match(pipeline.cookie, /^\d+$/);
  });

  it('names a missing table', () => {
    const json = committedJson();
    // A program whose v6 ACL was renamed: the contract's table is gone.
    json.tables.find((t) => t.preamble.name === TABLES.aclV6.name)!.preamble.name = 'NicguardIngress.acl6';
    assert.throws(
      () => checkContract(loadP4Info(json), 'test.p4info.json'),
      (err: unknown) =>
        err instanceof ContractError &&
        err.code === 'CONTRACT_MISMATCH' &&
        err.message.startsWith('test.p4info.json does not match') &&
        err.problems.includes('table NicguardIngress.acl_v6 is missing'),
    );
  });

  it('names a key of another bitwidth and a table of another size, both at once', () => {
    const json = committedJson();
    const acl = json.tables.find((t) => t.preamble.name === TABLES.aclV4.name)!;
    acl.matchFields.find((f) => f.name === 'dst_addr')!.bitwidth = 31;
    acl.size = '1024';
    const problems = contractProblems(loadP4Info(json));
    assert.equal(problems.length, 2);
    assert.match(
      problems.find((p) => p.includes('keys'))!,
      /dst_addr:TERNARY\/31.*expected.*dst_addr:TERNARY\/32/,
    );
    assert.equal(
      problems.find((p) => p.includes('size'))!,
      'table NicguardIngress.acl_v4 has size 1024, expected 131072',
    );
  });

  it('the cookie follows the program bytes', () => {
    const { p4info, deviceConfig, cookie } = loadNicguardPipeline();
    assert.equal(cookie, pipelineCookie(p4info.message, deviceConfig));
    assert.notEqual(cookie, pipelineCookie(p4info.message, Buffer.concat([deviceConfig, Buffer.from(' ')])));
  });

  describe('for a profile without registers or digests (the DPL program)', () => {
    /** The committed P4Info as the DPL program's would be: no registers, no digest. */
    function dplShaped() {
      const json = committedJson();
      delete json.registers;
      delete json.digests;
      return json;
    }
    const missing = [
      ...Object.values(REGISTERS).map((r) => `register ${r.name} is missing`),
      ...Object.values(DIGESTS).map((d) => `digest ${d.name} is missing`),
    ];

    it('accepts their absence on bluefield-dpl, and only there', () => {
      assert.deepEqual(contractProblems(loadP4Info(dplShaped()), PROFILES['bluefield-dpl']), []);
      assert.doesNotThrow(() =>
        checkContract(loadP4Info(dplShaped()), 'dpl.p4info', PROFILES['bluefield-dpl']),
      );
      for (const profile of [undefined, PROFILES.softnic, PROFILES.bmv2]) {
        assert.deepEqual(contractProblems(loadP4Info(dplShaped()), profile).sort(), [...missing].sort());
      }
    });

    it('still checks everything else, and whatever registers the program does declare', () => {
      const json = dplShaped();
      json.tables.find((t) => t.preamble.name === TABLES.aclV6.name)!.preamble.name = 'NicguardIngress.acl6';
      assert.throws(
        () => checkContract(loadP4Info(json), 'dpl.p4info', PROFILES['bluefield-dpl']),
        (err: unknown) =>
          err instanceof ContractError &&
          err.problems.length === 1 &&
          err.problems[0] === 'table NicguardIngress.acl_v6 is missing',
      );
      const narrow = committedJson();
      delete narrow.digests;
      narrow.registers!.find(
        (r) => r.preamble.name === REGISTERS.quotaUsed.name,
      )!.typeSpec.bitstring.bit.bitwidth = 32;
      assert.deepEqual(contractProblems(loadP4Info(narrow), PROFILES['bluefield-dpl']), [
        `register ${REGISTERS.quotaUsed.name} holds bit<32>, expected bit<64>`,
      ]);
    });
  });
});
