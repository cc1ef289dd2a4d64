// Fault class 2: the device goes away under `nicguard serve`. The softnic (in this process, on a
// fixed port) is killed and restarted empty over and over; each time serve must notice, record the
// gap as evidence, re-push pipeline and entries, and keep the traffic accounting exact across the
// reset: the counter deltas in the log add up to the packets sent. Then a device that stops
// answering without closing its connection (a softnic child process under SIGSTOP) must be found
// by the liveness check, and picked up again after SIGCONT.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceLog } from '../../controller/evidence';
import { publicKeyPath, writeSigningKeyPair } from '../../controller/ops/evidence';
import { TABLES } from '../../controller/pipeline/contract';
import { SoftnicDataplane } from '../../controller/softnic/dataplane';
import { Softnic } from '../../controller/softnic/server';
import { ipFrame } from '../../controller/traffic/frames';
import { CLI, CliDaemon, ROOT, figure, report, scaled, sleep, until } from './support';

const AGENT = { port: 1, mac: '02:00:00:00:00:01', ip: '10.0.1.1' };
const llmFrame = (size: number): Uint8Array =>
  ipFrame({
    srcMac: AGENT.mac,
    dstMac: '02:00:00:00:00:fe',
    src: AGENT.ip,
    dst: '203.0.113.10',
    transport: { proto: 'tcp', srcPort: 40000, dstPort: 443 },
    payloadSize: size,
  });

function serveDir(prefix: string, devices: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'policies'));
  copyFileSync(
    join(ROOT, 'examples', 'support-agent.policy.yaml'),
    join(dir, 'policies', 'support.policy.yaml'),
  );
  writeSigningKeyPair(join(dir, 'keys', 'signing.pem'));
  writeFileSync(
    join(dir, 'nicguard.yaml'),
    [
      'policyDir: policies',
      'evidence: { database: evidence.db, signingKey: keys/signing.pem, origin: test.nicguard/faults }',
      'devices:',
      devices,
      'telemetry: { intervalMs: 200 }',
      'metrics: { listen: 127.0.0.1:0 }',
    ].join('\n'),
  );
  return dir;
}

function withLog<T>(dir: string, fn: (log: EvidenceLog) => T): T {
  const log = EvidenceLog.open(join(dir, 'evidence.db'));
  try {
    return fn(log);
  } finally {
    log.close();
  }
}

function llmDeltas(dir: string): { packets: bigint; bytes: bigint; resets: number } {
  return withLog(dir, (log) => {
    let packets = 0n;
    let bytes = 0n;
    let resets = 0;
    for (const r of log.recordsByKind('counter_sample', 0, Date.now() + 1, 1_000_000)) {
      const b = r.body as { ruleName?: string; deltaPackets: bigint; deltaBytes: bigint; reset?: boolean };
      if (b.ruleName !== 'llm') continue;
      packets += BigInt(b.deltaPackets);
      bytes += BigInt(b.deltaBytes);
      if (b.reset) resets++;
    }
    return { packets, bytes, resets };
  });
}

const logTime = (l: Record<string, unknown>): number => Date.parse(l.time as string);

describe('fault: device lost under serve', function () {
  const restarts = scaled(25, 8);
  this.timeout(restarts * 30_000 + 60_000);

  it('detects each loss, re-pushes, records the gap and keeps counter deltas exact', async () => {
    let nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    let dataplane = SoftnicDataplane.attachTo(nic);
    const port = nic.port;
    const dir = serveDir(
      'nicguard-loss-',
      `  - { name: sim, address: 127.0.0.1:${port}, deviceId: 1, electionId: 5, profile: softnic, insecure: true }`,
    );
    const serve = new CliDaemon(
      ['serve', '--config', join(dir, 'nicguard.yaml'), '--liveness-ms', '500'],
      dir,
    );
    const acl = (): number => nic.state?.table(TABLES.aclV4.name).entries.size ?? 0;
    const detection: number[] = [];
    const convergence: number[] = [];
    const failures: string[] = [];
    let sentPackets = 0n;
    let sentBytes = 0n;
    try {
      // ACL entries go in before the port binding (plan.ts), so the count alone is not "in force".
      const reconciledSince = (n: number): Record<string, unknown> | undefined =>
        serve
          .events('device.reconciled')
          .slice(n)
          .find((e) => e.ok === true);
      await until('the example on the device', () => acl() === 4 && reconciledSince(0), 30_000);
      for (let i = 0; i < restarts; i++) {
        // Known traffic, counted and collected before the device dies with its counters.
        const count = 3 + (i % 5);
        for (let p = 0; p < count; p++) {
          const v = dataplane.inject(AGENT.port, llmFrame(100 + p));
          assert.equal(
            v.forwarded,
            true,
            `cycle ${i}: ${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))}; ` +
              `serve said ${JSON.stringify(serve.logs.slice(-8))}`,
          );
          sentPackets++;
          sentBytes += BigInt(v.packetLength);
        }
        await until(`collection of cycle ${i}`, () => llmDeltas(dir).packets === sentPackets, 20_000, 50);

        const lostBefore = serve.events('device.lost').length;
        const reconciledBefore = serve.events('device.reconciled').length;
        const killedAt = Date.now();
        nic.kill();
        dataplane.detach();
        const lost = await until('device.lost', () => serve.events('device.lost')[lostBefore], 20_000);
        detection.push(logTime(lost) - killedAt);
        await sleep(Math.floor(Math.random() * 300));
        nic = await Softnic.start({ address: `127.0.0.1:${port}`, deviceId: 1 });
        dataplane = SoftnicDataplane.attachTo(nic);
        const restartedAt = Date.now();
        const back = await until(
          'entries restored',
          () => acl() === 4 && reconciledSince(reconciledBefore),
          30_000,
        );
        convergence.push(Math.max(Date.now(), logTime(back)) - restartedAt);
      }
      // Traffic after the last reset, then the sums over every reset must still be what was sent.
      for (let p = 0; p < 5; p++) {
        const v = dataplane.inject(AGENT.port, llmFrame(500));
        sentPackets++;
        sentBytes += BigInt(v.packetLength);
      }
      await until('the last collection', () => llmDeltas(dir).packets === sentPackets, 20_000, 50);
      const deltas = llmDeltas(dir);
      if (deltas.bytes !== sentBytes) failures.push(`bytes ${deltas.bytes} != sent ${sentBytes}`);
      if (deltas.resets < restarts)
        failures.push(`${deltas.resets} resets recorded for ${restarts} restarts`);
      assert.equal(await serve.stop(), 0);
      withLog(dir, (log) => {
        const events = log
          .recordsByKind('device_event', 0, Date.now() + 1, 1_000_000)
          .map((r) => (r.body as { event: string }).event);
        const n = (e: string): number => events.filter((x) => x === e).length;
        if (n('lost') < restarts) failures.push(`${n('lost')} lost events for ${restarts} losses`);
        if (n('connected') < restarts + 1) failures.push(`${n('connected')} connected events`);
        if (n('pipeline_pushed') < restarts + 1)
          failures.push(`${n('pipeline_pushed')} pipeline_pushed events`);
        const verified = log.verify({
          publicKey: readFileSync(publicKeyPath(join(dir, 'keys', 'signing.pem')), 'utf8'),
        });
        if (!verified.ok) failures.push(`evidence: ${JSON.stringify(verified)}`);
      });
    } finally {
      await serve.stop();
      dataplane.detach();
      await nic.stop();
    }
    report({
      fault: '2 device killed + restarted under serve',
      trials: restarts,
      failures: failures.length,
      figures: `detection ${figure(detection, 'ms')}; convergence ${figure(convergence, 'ms')}; ${sentPackets} packets, deltas exact`,
    });
    assert.deepEqual(failures, []);
  });

  it('finds a device that stops answering without closing, and picks it up after it resumes', async () => {
    const pauses = scaled(5, 2);
    const device: ChildProcess = spawn(
      process.execPath,
      [CLI, 'softnic', '--listen', '127.0.0.1:0', '--device-id', '2'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let banner = '';
    device.stderr!.on('data', (c: Buffer) => (banner += c.toString()));
    const port = await until('the softnic banner', () => /127\.0\.0\.1:(\d+)/.exec(banner)?.[1], 20_000);
    const dir = serveDir(
      'nicguard-pause-',
      `  - { name: paused, address: 127.0.0.1:${port}, deviceId: 2, electionId: 5, profile: softnic, insecure: true }`,
    );
    const serve = new CliDaemon(
      ['serve', '--config', join(dir, 'nicguard.yaml'), '--liveness-ms', '500'],
      dir,
    );
    const detection: number[] = [];
    const recovery: number[] = [];
    const failures: string[] = [];
    try {
      await until('first reconcile', () => serve.events('device.reconciled')[0], 30_000);
      for (let i = 0; i < pauses; i++) {
        const lostBefore = serve.events('device.lost').length;
        const answeringBefore =
          serve.events('device.answering').length + serve.events('device.reconnected').length;
        const stoppedAt = Date.now();
        device.kill('SIGSTOP');
        const lost = await until(
          'device.lost while paused',
          () => serve.events('device.lost')[lostBefore],
          30_000,
        );
        detection.push(logTime(lost) - stoppedAt);
        if (!/liveness/.test(String(lost.reason)))
          failures.push(`lost for another reason: ${String(lost.reason)}`);
        const resumedAt = Date.now();
        device.kill('SIGCONT');
        const back = await until(
          'the device answering again',
          () =>
            serve.events('device.answering').length + serve.events('device.reconnected').length >
              answeringBefore &&
            serve.logs.filter((l) => l.event === 'device.reconciled' && logTime(l) >= resumedAt)[0],
          30_000,
        );
        recovery.push(logTime(back) - resumedAt);
      }
      assert.equal(await serve.stop(), 0);
      withLog(dir, (log) => {
        const events = log
          .recordsByKind('device_event', 0, Date.now() + 1, 1_000_000)
          .map((r) => r.body as { event: string; detail?: { reason?: string } });
        const lost = events.filter((e) => e.event === 'lost');
        if (lost.length < pauses) failures.push(`${lost.length} lost events recorded for ${pauses} pauses`);
      });
    } finally {
      device.kill('SIGCONT');
      await serve.stop();
      device.kill('SIGTERM');
    }
    report({
      fault: '2 device paused (SIGSTOP), liveness',
      trials: pauses,
      failures: failures.length,
      figures: `detection ${figure(detection, 'ms')} (liveness 500 ms); recovery after SIGCONT ${figure(recovery, 'ms')}`,
    });
    assert.deepEqual(failures, []);
  });
  it('counts traffic once across a broken stream when the device kept its counters', async () => {
    const breaks = scaled(10, 3);
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    const dataplane = SoftnicDataplane.attachTo(nic);
    const dir = serveDir(
      'nicguard-break-',
      `  - { name: sim, address: 127.0.0.1:${nic.port}, deviceId: 1, electionId: 5, profile: softnic, insecure: true }`,
    );
    const serve = new CliDaemon(['serve', '--config', join(dir, 'nicguard.yaml')], dir);
    let sentPackets = 0n;
    let sentBytes = 0n;
    const send = (count: number): void => {
      for (let p = 0; p < count; p++) {
        const v = dataplane.inject(AGENT.port, llmFrame(200 + p));
        assert.equal(v.forwarded, true, `frame ${p}: ${v.reason}`);
        sentPackets++;
        sentBytes += BigInt(v.packetLength);
      }
    };
    try {
      await until(
        'first reconcile',
        () => serve.events('device.reconciled').find((e) => e.ok === true),
        30_000,
      );
      for (let i = 0; i < breaks; i++) {
        send(4);
        await until(`collection before break ${i}`, () => llmDeltas(dir).packets === sentPackets, 20_000, 50);
        const reconnected = serve.events('device.reconnected').length;
        nic.breakStreams();
        const back = await until(
          'device.reconnected',
          () => serve.events('device.reconnected')[reconnected],
          20_000,
        );
        assert.equal(back.pipelinePushed, false, 'the device kept its pipeline');
      }
      send(4);
      await until('the last collection', () => llmDeltas(dir).packets === sentPackets, 20_000, 50);
      // Let a few more collections pass: a counter taken for restarted would be counted again.
      await sleep(600);
      const deltas = llmDeltas(dir);
      assert.deepEqual(
        { packets: deltas.packets, bytes: deltas.bytes, resets: deltas.resets },
        { packets: sentPackets, bytes: sentBytes, resets: 0 },
      );
      assert.equal(await serve.stop(), 0);
    } finally {
      await serve.stop();
      dataplane.detach();
      await nic.stop();
    }
  });
});
