// Fault class 1: the controller dies in the middle of a large change. A child `nicguard apply` is
// killed with SIGKILL after a random delay while it moves a softnic (in this process) between two
// policies that differ in thousands of entries. All the while, and after each kill, the data plane
// is probed with packets that both policies deny: none may get through, whatever half-applied state
// the device was left in. A second apply then converges the device (nothing left to plan), and
// the evidence log verifies and holds every push that an apply reported as done.

import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { compilePolicy, type CompiledPolicy } from '../../controller/compiler/compile';
import { evaluateEntries } from '../../controller/compiler/entryEval';
import { EvidenceLog } from '../../controller/evidence';
import { publicKeyPath, writeSigningKeyPair } from '../../controller/ops/evidence';
import { TABLES } from '../../controller/pipeline/contract';
import { PROFILES } from '../../controller/pipeline/profiles';
import { ETH_IPV4, type Packet } from '../../controller/policy/evaluate';
import { loadPolicySources } from '../../controller/policy/load';
import { SoftnicDataplane } from '../../controller/softnic/dataplane';
import { Softnic } from '../../controller/softnic/server';
import { ipFrame } from '../../controller/traffic/frames';
import { CLI, agentIp, agentMac, agentPort, bigPolicyYaml, figure, report, runCli, scaled } from './support';

const GATEWAY = '02:00:00:00:ff:fe';

interface Probe {
  readonly packet: Packet;
  readonly frame: Uint8Array;
}

function compiledFrom(text: string): CompiledPolicy {
  const { policySet, diagnostics } = loadPolicySources([{ file: 'gen.yaml', text }]);
  assert.ok(policySet, diagnostics.map((d) => d.format()).join('\n'));
  return compilePolicy(policySet, PROFILES.softnic);
}

/**
 * Candidate packets around both policies' rules, for a sample of agents; kept are those that BOTH
 * policies' entries deny, as the entry evaluator (not this test) decides.
 */
function mustDeny(agents: number, a: CompiledPolicy, b: CompiledPolicy, variants: [number, number]): Probe[] {
  const out: Probe[] = [];
  for (let i = 0; i < agents; i += Math.max(1, Math.floor(agents / 40))) {
    const src = agentIp(i);
    const dsts: [string, number][] = [
      ['192.0.2.5', 443],
      ['198.18.0.1', 401],
      [`10.${variants[0] * 16 + 1}.${(i >> 8) & 0xff}.${i & 0xff}`, 80],
      [`10.${variants[1] * 16 + 1}.${(i >> 8) & 0xff}.${i & 0xff}`, 80],
      [`10.${variants[0] * 16 + 2}.${(i >> 8) & 0xff}.${i & 0xff}`, 402],
      [`10.${variants[1] * 16 + 2}.${(i >> 8) & 0xff}.${i & 0xff}`, 402],
      [`10.${variants[0] * 16 + 1}.${((i + 1) >> 8) & 0xff}.${(i + 1) & 0xff}`, 401],
    ];
    for (const [dst, dstPort] of dsts) {
      for (const spoof of [false, true]) {
        const packet: Packet = {
          ingressPort: agentPort(i),
          srcMac: agentMac(i),
          ethType: ETH_IPV4,
          src: spoof ? '10.99.99.99' : src,
          dst,
          protocol: 6,
          dstPort,
        };
        if (evaluateEntries(a.entries, packet).forward || evaluateEntries(b.entries, packet).forward)
          continue;
        const frame = ipFrame({
          srcMac: packet.srcMac,
          dstMac: GATEWAY,
          src: packet.src!,
          dst,
          transport: { proto: 'tcp', srcPort: 40000, dstPort },
          payloadSize: 32,
        });
        out.push({ packet, frame });
      }
    }
  }
  return out;
}

describe('fault: controller killed during apply', function () {
  const kills = scaled(120, 6);
  this.timeout(kills * 20_000 + 120_000);
  let dir: string;
  let nic: Softnic;
  let dataplane: SoftnicDataplane & { detach(): void };
  let election = 10;
  const violations: string[] = [];
  const writeMs: number[] = [];
  let probes: Probe[] = [];
  let probesSent = 0;
  const aclSize = (): number => nic.state?.table(TABLES.aclV4.name).entries.size ?? 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nicguard-crash-apply-'));
    writeSigningKeyPair(join(dir, 'keys', 'signing.pem'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(
      join(dir, 'nicguard.yaml'),
      'policyDir: policies\nevidence: { database: evidence.db, signingKey: keys/signing.pem, origin: test.nicguard/crash }\n',
    );
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    dataplane = SoftnicDataplane.attachTo(nic);
  });

  after(async () => {
    dataplane?.detach();
    await nic?.stop();
  });

  function applyArgs(file: string): string[] {
    return [
      'apply',
      file,
      '--config',
      join(dir, 'nicguard.yaml'),
      '-d',
      `127.0.0.1:${nic.port}`,
      '--insecure',
      '--profile',
      'softnic',
      '--device-id',
      '1',
      // A fresh, higher election id each run: the dead run's stream may not be gone yet.
      '--election-id',
      String(++election),
      '--json',
    ];
  }

  /**
   * Runs apply as a child, probing the data plane on every timer tick while it runs. With `kill`,
   * SIGKILLs it `delayMs` after start or after the first entry changed on the device.
   */
  async function watchedApply(
    file: string,
    kill: { fromStart: boolean; delayMs: number } | undefined,
  ): Promise<{ killed: boolean; firstChange: number; writeMs: number; totalMs: number; stdout: string }> {
    const startSize = aclSize();
    let firstChange = -1;
    let lastChange = -1;
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...applyArgs(file)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.resume();
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    let killTimer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (kill && !killTimer) killTimer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
    };
    if (kill?.fromStart) arm();
    let lastSize = startSize;
    let cursor = 0;
    // The timer runs between the server's handling of Write batches: the same event loop runs both.
    // A slice of the probes per tick keeps the probing from starving the server.
    const probeTimer = setInterval(() => {
      // No pipeline yet: the device forwards nothing, so there is nothing to probe.
      if (!nic.state) return;
      const size = aclSize();
      if (size !== lastSize) {
        if (firstChange < 0) {
          firstChange = Date.now() - started;
          arm();
        }
        lastChange = Date.now() - started;
        lastSize = size;
      }
      for (let n = 0; n < 24; n++) {
        const p = probes[cursor++ % probes.length];
        probesSent++;
        if (dataplane.inject(p.packet.ingressPort, p.frame).forwarded)
          violations.push(`${p.packet.src}→${p.packet.dst}:${p.packet.dstPort} forwarded mid-apply`);
      }
    }, 1);
    await exited;
    if (killTimer) clearTimeout(killTimer);
    clearInterval(probeTimer);
    return {
      killed: child.signalCode === 'SIGKILL',
      firstChange,
      writeMs: firstChange < 0 ? 0 : lastChange - firstChange,
      totalMs: Date.now() - started,
      stdout,
    };
  }

  it('never lets through what both policies deny, and always converges and verifies', async () => {
    // A few policy pairs of different sizes, so the kills land in different shapes of change.
    const shapes = [
      { agents: 200, rules: 10 },
      { agents: 300, rules: 8 },
      { agents: 450, rules: 6 },
    ];
    const publicKey = readFileSync(publicKeyPath(join(dir, 'keys', 'signing.pem')), 'utf8');
    const reportedPushes: string[] = [];
    const applyMs: number[] = [];
    let midApply = 0;
    let beforeWrites = 0;
    let afterDone = 0;
    let trial = 0;

    for (let s = 0; s < shapes.length; s++) {
      const { agents, rules } = shapes[s];
      const variants: [number, number] = [2 * s + 1, 2 * s + 2];
      const files = variants.map((v, k) => {
        const file = join(dir, 'policies', `shape${s}-${k}.yaml`);
        writeFileSync(file, bigPolicyYaml(agents, rules, v));
        return file;
      });
      const compiled = files.map((f) => compiledFrom(readFileSync(f, 'utf8')));
      probes = mustDeny(agents, compiled[0], compiled[1], variants);
      assert.ok(probes.length >= 40, `enough packets that both policies deny (${probes.length})`);

      // Converge to the first policy, timing its write phase to aim the kills at it.
      const first = await watchedApply(files[0], undefined);
      assert.equal(first.killed, false);
      writeMs.push(first.writeMs);
      let target = 1;
      const perShape = Math.ceil(kills / shapes.length);
      for (let k = 0; k < perShape && trial < kills; k++, trial++) {
        const file = files[target];
        // Mostly somewhere in the write phase (timed from the first entry that changed); one kill
        // in seven anywhere from process start, so start-up and planning are hit too.
        const horizon = Math.max(...writeMs) * 1.1;
        const early = Math.random() < 1 / 7;
        const run = await watchedApply(file, {
          fromStart: early,
          delayMs: Math.floor(Math.random() * (early ? 1_500 : horizon)),
        });
        if (!run.killed) {
          afterDone++;
          applyMs.push(run.totalMs);
          if (run.writeMs > 0) writeMs.push(run.writeMs);
          const json = JSON.parse(run.stdout) as { ok: boolean; policyVersion: string };
          if (json.ok) reportedPushes.push(json.policyVersion);
        } else if (run.firstChange < 0) beforeWrites++;
        else midApply++;

        // After the kill: the device, in whatever state, still denies the must-deny packets.
        for (const p of probes) {
          if (dataplane.inject(p.packet.ingressPort, p.frame).forwarded)
            violations.push(`trial ${trial}: ${p.packet.dst}:${p.packet.dstPort} forwarded after the kill`);
        }

        // Restarting apply converges.
        const again = await runCli(applyArgs(file), { cwd: dir });
        if (again.code !== 0) {
          violations.push(`trial ${trial}: re-apply exited ${again.code}: ${again.stderr.slice(0, 300)}`);
          continue;
        }
        const json = JSON.parse(again.stdout) as { ok: boolean; policyVersion: string };
        if (json.ok) reportedPushes.push(json.policyVersion);
        // Converged: a fresh `nicguard plan` (compiled in its own process, as apply compiles) finds
        // nothing to do. The compiler keeps reuse state within a process, so this process's own
        // compile is not the reference.
        const planArgs = applyArgs(file).map((a) => (a === 'apply' ? 'plan' : a));
        const planned = await runCli(planArgs, { cwd: dir });
        const summary = (JSON.parse(planned.stdout || '{}') as { summary?: Record<string, number> }).summary;
        if (planned.code !== 0 || !summary || Object.values(summary).some((n) => n !== 0))
          violations.push(
            `trial ${trial}: plan after re-apply not empty: ${JSON.stringify(summary)} ${planned.stderr.slice(0, 200)}`,
          );

        // Evidence: verifies, and every push an apply reported as done is recorded as 'ok'.
        const log = EvidenceLog.open(join(dir, 'evidence.db'));
        try {
          const verified = log.verify({ publicKey });
          if (!verified.ok)
            violations.push(`trial ${trial}: evidence does not verify: ${JSON.stringify(verified)}`);
          const pushes = new Set(
            log
              .recordsByKind('push', 0, Date.now() + 1, 1_000_000)
              .map((r) => r.body as { policyVersion: string; outcome: string })
              .filter((b) => b.outcome === 'ok')
              .map((b) => b.policyVersion),
          );
          for (const v of reportedPushes)
            if (!pushes.has(v))
              violations.push(`trial ${trial}: reported push ${v.slice(0, 12)} not in the log`);
        } finally {
          log.close();
        }
        target = 1 - target;
      }
    }

    report({
      fault: '1 controller SIGKILL during apply',
      trials: trial,
      failures: violations.length,
      figures: `${midApply} kills mid-write, ${beforeWrites} before writes, ${afterDone} after completion; ${probesSent} must-deny probes; write phase ${figure(writeMs, 'ms')}, uninterrupted apply ${figure(applyMs, 'ms')}`,
    });
    assert.deepEqual(violations.slice(0, 10), []);
    assert.ok(midApply > 0, 'at least one kill landed while entries were being written');
  });
});
