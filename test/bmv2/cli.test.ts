// The bmv2 entry points as users run them: `nicguard scenario run --target bmv2` and scripts/bmv2.
// Where bmv2 is missing both must say so in one line and fail, never pass; where it is installed,
// the CLI runs an example on a bmv2 it starts itself.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bmv2Availability } from '../../controller/scenario/bmv2';

const REPO = join(__dirname, '..', '..', '..');
const CLI = join(REPO, 'dist', 'cli', 'nicguard.js');
const SCRIPT = join(REPO, 'scripts', 'bmv2');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: REPO, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

describe('bmv2 entry points', function () {
  this.timeout(120_000);
  let empty: string;
  before(() => {
    empty = mkdtempSync(join(tmpdir(), 'no-tools-'));
  });
  after(() => rmSync(empty, { recursive: true, force: true }));

  it('scenario run --target bmv2 without simple_switch_grpc exits 3 with one line naming it', async () => {
    const r = await run(
      process.execPath,
      [CLI, 'scenario', 'run', 'examples/no-export.scenario.yaml', '--target', 'bmv2'],
      {
        ...process.env,
        PATH: empty,
      },
    );
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.split('\n')[0], /^nicguard: --target bmv2: simple_switch_grpc is not on PATH$/);
  });

  it('scenario run --target bmv2 refuses another profile', async () => {
    const r = await run(process.execPath, [
      CLI,
      'scenario',
      'run',
      'examples/no-export.scenario.yaml',
      '--target',
      'bmv2',
      '--profile',
      'bluefield-dpl',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--target bmv2 runs as profile bmv2/);
  });

  it('scripts/bmv2 start names each missing prerequisite and exits non-zero', async () => {
    const r = await run('/bin/bash', [SCRIPT, 'start'], { ...process.env, PATH: empty });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^bmv2: missing: simple_switch_grpc is not on PATH/m);
    // Stopping what is not running is not an error (a CI job's cleanup step runs it regardless).
    const stop = await run('/bin/bash', [SCRIPT, 'stop'], { ...process.env, NICGUARD_BMV2_STATE: empty });
    assert.equal(stop.code, 0);
    assert.match(stop.stdout, /not running/);
  });

  it('scenario run --target bmv2 passes an example on a bmv2 it starts, with JUnit', async function () {
    const available = bmv2Availability();
    if (!available.ok) {
      this.test!.title += ` (skipped: ${available.missing})`;
      this.skip();
    }
    const junit = join(empty, 'bmv2.xml');
    const r = await run(process.execPath, [
      CLI,
      'scenario',
      'run',
      'examples/no-export.scenario.yaml',
      '--target',
      'bmv2',
      '--junit',
      junit,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^PASS {2}examples\/no-export\.scenario\.yaml .*\(bmv2 simple_switch_grpc \(pid \d+\)/m,
    );
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /failures="0"/);
    assert.match(xml, /name="target" value="bmv2 simple_switch_grpc/);
  });
});
