// Fault class 7: load. `nicguard serve` drives a softnic holding about 100k entries, collecting
// telemetry every second, for a bounded soak (10 minutes under `npm run test:faults`, about 20 s
// inside `npm test`). Memory must stay flat over the 10-minute soak, collection must keep up
// (missed intervals are reported as they are), and the evidence log must verify at the end.
//
// The agent count is bounded by the port space: ingress ports are 9 bits wide with the CPU port
// and the uplink reserved, so one policy holds at most 509 agents; the 100k entries come from
// 500 agents with 200 rules each.

import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceLog } from '../../controller/evidence';
import { publicKeyPath, writeSigningKeyPair } from '../../controller/ops/evidence';
import { TABLES } from '../../controller/pipeline/contract';
import { Softnic } from '../../controller/softnic/server';
import { CliDaemon, bigPolicyYaml, report, scaled, sleep, until } from './support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (
  text: string,
) => { name: string; metrics: { labels?: Record<string, string>; value?: string }[] }[];

const AGENTS = 500;
const RULES = 200;
// The serve process's RSS breathes by about a gigabyte between major collections, over tens of
// seconds at this load; a soak shorter than this cannot tell a trend from one upswing, and only
// reports the figures.
const TREND_MIN_SOAK_MS = 120_000;

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const family of parsePrometheusTextFormat(text)) {
    const m = family.metrics[0];
    if (m?.value !== undefined) out.set(family.name, Number(m.value));
  }
  return out;
}

describe('fault: load soak under serve', function () {
  const soakMs = scaled(600_000, 20_000);
  this.timeout(soakMs + 300_000);

  const judged = soakMs >= TREND_MIN_SOAK_MS;
  const what = judged ? 'memory flat and every collection succeeding' : 'every collection succeeding';
  it(`keeps ${what} with ${AGENTS * RULES} rules, telemetry every second`, async () => {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'nicguard-load-'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'fleet.yaml'), bigPolicyYaml(AGENTS, RULES, 1));
    writeSigningKeyPair(join(dir, 'keys', 'signing.pem'));
    writeFileSync(
      join(dir, 'nicguard.yaml'),
      [
        'policyDir: policies',
        'evidence: { database: evidence.db, signingKey: keys/signing.pem, origin: test.nicguard/load }',
        'devices:',
        `  - { name: fleet, address: 127.0.0.1:${nic.port}, deviceId: 1, electionId: 5, profile: softnic, insecure: true }`,
        'telemetry: { intervalMs: 1000 }',
        'metrics: { listen: 127.0.0.1:0 }',
      ].join('\n'),
    );
    const serve = new CliDaemon(['serve', '--config', join(dir, 'nicguard.yaml')], dir);
    const failures: string[] = [];
    const acl = (): number => nic.state?.table(TABLES.aclV4.name).entries.size ?? 0;
    let figures = '';
    try {
      const started = await until('serve.started', () => serve.events('serve.started')[0], 30_000);
      const metricsPort = started.metricsPort as number;
      const t0 = Date.now();
      // The ACL fills before the port bindings go in, so convergence is the successful reconcile.
      await until(
        'the fleet policy on the device',
        () => acl() >= AGENTS * RULES && serve.events('device.reconciled').find((e) => e.ok === true),
        240_000,
        200,
      );
      const convergeMs = Date.now() - t0;
      // Let the first collections settle before taking the starting figures.
      await until(
        'first collections',
        async () => ((await scrape(metricsPort)).get('nicguard_device_up') ?? 0) === 1,
        60_000,
        500,
      );
      await sleep(5_000);
      const start = await scrape(metricsPort);
      const rssStart = start.get('nicguard_process_resident_memory_bytes') ?? NaN;
      const missedStart = start.get('nicguard_collect_missed_intervals') ?? NaN;
      const samples: number[] = [];
      const soakStart = Date.now();
      while (Date.now() - soakStart < soakMs) {
        await sleep(Math.min(10_000, soakMs / 8));
        samples.push((await scrape(metricsPort)).get('nicguard_process_resident_memory_bytes') ?? NaN);
      }
      const end = await scrape(metricsPort);
      const rssEnd = end.get('nicguard_process_resident_memory_bytes') ?? NaN;
      const missed = (end.get('nicguard_collect_missed_intervals') ?? NaN) - missedStart;
      const health = (await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).json()) as {
        devices: { lastCollectDurationMs?: number }[];
      };
      const collectMs = health.devices[0]?.lastCollectDurationMs ?? NaN;
      const collections = serve.logs.filter((l) => l.event === 'telemetry.failed').length;
      const seconds = (Date.now() - soakStart) / 1000;
      const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
      // Flat: no upward trend from the first third of the soak to the last (medians, since V8's
      // heap breathes between collections).
      const third = Math.max(1, Math.floor(samples.length / 3));
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const early = median(samples.slice(0, third));
      const late = median(samples.slice(-third));
      if (judged && late - early > early * 0.2)
        failures.push(`RSS trend ${mb(early)} → ${mb(late)} (median, first → last third)`);
      if (collections > 0) failures.push(`${collections} collections failed`);
      figures = `${acl()} entries, converged in ${(convergeMs / 1000).toFixed(1)} s; soak ${seconds.toFixed(0)} s; RSS ${mb(rssStart)} → ${mb(rssEnd)} (median first third ${mb(early)}, last third ${mb(late)}, peak ${mb(Math.max(...samples))}${judged ? '' : '; trend not judged in a soak this short'}); missed intervals ${missed} of ~${seconds.toFixed(0)}, last collection took ${collectMs} ms`;
      assert.equal(await serve.stop(), 0);
      const log = EvidenceLog.open(join(dir, 'evidence.db'));
      try {
        const verified = log.verify({
          publicKey: readFileSync(publicKeyPath(join(dir, 'keys', 'signing.pem')), 'utf8'),
        });
        if (!verified.ok) failures.push(`evidence: ${JSON.stringify(verified)}`);
        figures += `; evidence ${log.size} records, verifies: ${verified.ok}`;
      } finally {
        log.close();
      }
      // Missed intervals are reported, not failed: the figure is what an operator sees on /metrics.
      if (missed > 0) figures += ` (collection slower than 1 s: see reliability notes)`;
    } finally {
      await serve.stop();
      await nic.stop();
      report({
        fault: '7 load: serve, 100k entries, 1 s telemetry',
        trials: 1,
        failures: failures.length,
        figures,
      });
    }
    assert.deepEqual(failures, []);
  });
});
