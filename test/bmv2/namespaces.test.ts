// Real TCP through bmv2: scripts/bmv2 puts an agent and the uplink in network namespaces on veth
// pairs, the support-agent example policy is applied over P4Runtime, and sockets in the namespaces
// find the allowed port open end to end and the unlisted one unanswered, with the rule's counter and
// the NO_MATCH drop counter saying why. Needs root, ip, ethtool and bmv2; pending otherwise with one
// line saying what is missing.

import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../../controller/compiler/compile';
import { applyCompiled } from '../../controller/device/device';
import { requireUp } from '../../controller/paths';
import { COUNTERS, Reason } from '../../controller/pipeline/contract';
import { PROFILES } from '../../controller/pipeline/profiles';
import { loadPolicySet } from '../../controller/policy/load';
import { bmv2Availability, connectBmv2Device, findOnPath } from '../../controller/scenario/bmv2';
import type { ScenarioDevice } from '../../controller/scenario/runner';

const UPLINK_NS = 'nicguard-uplink';
const AGENT_NS = 'nicguard-agent1';
const DNS = '10.0.0.53';
const ECHO = join(__dirname, 'tcp-echo.js');

/** What stops this test from running here, or undefined. */
function missing(): string | undefined {
  const available = bmv2Availability(['ip', 'ethtool']);
  if (!available.ok) return available.missing;
  if (process.getuid?.() !== 0) return 'not root (network namespaces need it)';
  const list = spawnSync(findOnPath('ip')!, ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  if (list.includes(UPLINK_NS)) return `namespace ${UPLINK_NS} is in use (scripts/bmv2 stop frees it)`;
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function inNamespace(ns: string, args: string[]): string[] {
  return ['netns', 'exec', ns, process.execPath, ECHO, ...args];
}

describe('bmv2 with network namespaces: real TCP through the policy', function () {
  this.timeout(120_000);
  const script = requireUp(join('scripts', 'bmv2'));
  const state = mkdtempSync(join(tmpdir(), 'nicguard-bmv2-'));
  const env = { ...process.env, NICGUARD_BMV2_STATE: state };
  let started = false;
  let server: ChildProcess | undefined;
  let device: ScenarioDevice | undefined;
  let ruleId = 0;

  before(async function () {
    const why = missing();
    if (why !== undefined) {
      console.log(`bmv2 namespaces: skipped: ${why}`);
      this.skip();
    }
    const grpc = `127.0.0.1:${await freePort()}`;
    const start = spawnSync(
      script,
      ['start', '--namespaces', '1', '--grpc', grpc, '--thrift-port', String(await freePort())],
      { env, encoding: 'utf8' },
    );
    assert.equal(start.status, 0, `scripts/bmv2 start failed:\n${start.stdout}${start.stderr}`);
    started = true;
    assert.match(start.stdout, new RegExp(`listening: P4Runtime ${grpc}`));
    device = await connectBmv2Device({
      name: 'namespaces',
      address: grpc,
      deviceId: 1n,
      electionId: 1n,
      profile: 'bmv2',
      insecure: true,
    });
    const loaded = loadPolicySet(join(requireUp('examples'), 'support-agent.policy.yaml'));
    assert.ok(loaded.policySet);
    const compiled = compilePolicy(loaded.policySet, PROFILES.bmv2);
    const { result } = await applyCompiled(device.client, compiled);
    assert.ok(result.ok, result.error?.message);
    ruleId = compiled.rules.find((r) => r.rule === 'internal-dns')!.ruleId;
    server = spawn(findOnPath('ip')!, inNamespace(UPLINK_NS, ['serve', DNS, '53,22']), {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Listening on both ports before any client connects.
    await new Promise<void>((resolve, reject) => {
      let text = '';
      server!.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if ((text.match(/listening/g) ?? []).length === 2) resolve();
      });
      server!.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
    });
  });

  after(() => {
    server?.kill();
    device?.client.close();
    if (started) {
      const stop = spawnSync(script, ['stop'], { env, encoding: 'utf8' });
      assert.equal(stop.status, 0, stop.stderr);
      const list = spawnSync(findOnPath('ip')!, ['netns', 'list'], { encoding: 'utf8' }).stdout;
      assert.ok(!list.includes(AGENT_NS), 'scripts/bmv2 stop left a namespace behind');
    }
    rmSync(state, { recursive: true, force: true });
  });

  async function send(port: number, bytes: number): Promise<{ connected: boolean; echoed: number }> {
    const run = spawnSync(
      findOnPath('ip')!,
      inNamespace(AGENT_NS, ['send', DNS, String(port), String(bytes), '3000']),
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout.trim()) as { connected: boolean; echoed: number };
  }

  async function packets(counter: string, index: number): Promise<bigint> {
    const [cell] = await device!.client.readCounters(counter, index);
    return cell?.packets ?? 0n;
  }

  it('carries a TCP exchange the policy allows, counted against its rule', async () => {
    const before = await packets(COUNTERS.ruleTx.name, ruleId);
    const got = await send(53, 256 * 1024);
    assert.deepEqual(got, { connected: true, echoed: 256 * 1024 });
    assert.ok((await packets(COUNTERS.ruleTx.name, ruleId)) > before);
  });

  it('never answers a connection the policy does not list, and counts the drop as NO_MATCH', async () => {
    const before = await packets(COUNTERS.drops.name, Reason.NO_MATCH);
    const got = await send(22, 1024);
    assert.deepEqual(got, { connected: false, echoed: 0 });
    assert.ok((await packets(COUNTERS.drops.name, Reason.NO_MATCH)) > before);
  });
});
