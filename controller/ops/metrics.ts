// /metrics and /healthz for `nicguard serve`. A scrape reads only what the daemon already holds
// (the collectors' last readings and the sessions' health), never the device: a slow device must
// not make monitoring slow, and a scrape must not add load to the device.

import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { reasonName } from '../pipeline/contract';
import type { Serve } from './serve';

export interface MetricsSource {
  readonly serve: Serve;
  /** Per device: the last rule totals and reason counters its collector read. */
  readonly readings: () => Iterable<{
    device: string;
    rules: readonly {
      table: string;
      rule?: string;
      agent?: string;
      ruleId: number;
      packets: bigint;
      bytes: bigint;
    }[];
    dropped: readonly { index: number; packets: bigint; bytes: bigint }[];
    audited: readonly { index: number; packets: bigint; bytes: bigint }[];
  }>;
}

export function metricsRegistry(source: MetricsSource): { registry: Registry; refresh: () => void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nicguard_' });
  const ruleLabels = ['device', 'agent', 'rule', 'counter'] as const;
  const rulePackets = new Gauge({
    name: 'nicguard_rule_packets',
    help: 'Packets counted per rule (counter: rule_tx = let out, acl = stopped by a deny rule)',
    labelNames: ruleLabels,
    registers: [registry],
  });
  const ruleBytes = new Gauge({
    name: 'nicguard_rule_bytes',
    help: 'Bytes counted per rule (counter: rule_tx = let out, acl = stopped by a deny rule)',
    labelNames: ruleLabels,
    registers: [registry],
  });
  const drops = new Gauge({
    name: 'nicguard_drops_packets',
    help: 'Packets dropped by the device, per reason',
    labelNames: ['device', 'reason'],
    registers: [registry],
  });
  const audits = new Gauge({
    name: 'nicguard_audit_packets',
    help: 'Packets a policy would drop, forwarded in audit mode, per reason',
    labelNames: ['device', 'reason'],
    registers: [registry],
  });
  const up = new Gauge({
    name: 'nicguard_device_up',
    help: '1 when the device session is connected',
    labelNames: ['device'],
    registers: [registry],
  });
  const primary = new Gauge({
    name: 'nicguard_device_primary',
    help: '1 when this controller is primary for the device',
    labelNames: ['device'],
    registers: [registry],
  });
  const collectSeconds = new Gauge({
    name: 'nicguard_collect_duration_seconds',
    help: 'Duration of the last telemetry collection',
    labelNames: ['device'],
    registers: [registry],
  });
  const missed = new Gauge({
    name: 'nicguard_collect_missed_intervals',
    help: 'Telemetry intervals missed because a collection was still running',
    labelNames: ['device'],
    registers: [registry],
  });
  const errors = new Gauge({
    name: 'nicguard_collect_errors',
    help: 'Telemetry collections that failed',
    labelNames: ['device'],
    registers: [registry],
  });
  const losses = new Gauge({
    name: 'nicguard_device_losses',
    help: 'Times the device session was lost',
    labelNames: ['device'],
    registers: [registry],
  });
  const policyOk = new Gauge({
    name: 'nicguard_policy_loaded',
    help: '1 when the policy directory loads without errors',
    registers: [registry],
  });

  const refresh = (): void => {
    for (const g of [
      rulePackets,
      ruleBytes,
      drops,
      audits,
      up,
      primary,
      collectSeconds,
      missed,
      errors,
      losses,
    ])
      g.reset();
    const snapshot = source.serve.snapshot();
    policyOk.set(snapshot.policyError ? 0 : 1);
    for (const d of snapshot.devices) {
      up.set({ device: d.name }, d.connected ? 1 : 0);
      primary.set({ device: d.name }, d.primary ? 1 : 0);
      if (d.lastCollectDurationMs !== undefined)
        collectSeconds.set({ device: d.name }, d.lastCollectDurationMs / 1000);
      missed.set({ device: d.name }, d.missedIntervals);
      errors.set({ device: d.name }, d.collectErrors);
      losses.set({ device: d.name }, d.losses);
    }
    for (const reading of source.readings()) {
      for (const r of reading.rules) {
        const labels = {
          device: reading.device,
          agent: r.agent ?? '',
          rule: r.rule ?? `rule-id-${r.ruleId}`,
          counter: r.table.endsWith('rule_tx_counter') ? 'rule_tx' : 'acl',
        };
        rulePackets.inc(labels, Number(r.packets));
        ruleBytes.inc(labels, Number(r.bytes));
      }
      for (const c of reading.dropped)
        if (c.packets > 0n)
          drops.set({ device: reading.device, reason: reasonName(c.index) }, Number(c.packets));
      for (const c of reading.audited)
        if (c.packets > 0n)
          audits.set({ device: reading.device, reason: reasonName(c.index) }, Number(c.packets));
    }
  };
  return { registry, refresh };
}

/** Serves /metrics (Prometheus text format) and /healthz (JSON) on `listen` (host:port). */
export async function startMetricsServer(
  listen: string,
  source: MetricsSource,
): Promise<Server & { port: number }> {
  const { registry, refresh } = metricsRegistry(source);
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      refresh();
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        })
        .catch((err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
    } else if (req.url === '/healthz') {
      const snapshot = source.serve.snapshot();
      const healthy = snapshot.devices.every((d) => d.connected) && !snapshot.policyError;
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          healthy,
          policyVersion: snapshot.policyVersion,
          policyError: snapshot.policyError,
          devices: snapshot.devices,
        }),
      );
    } else {
      res.writeHead(404);
      res.end('not found: try /metrics or /healthz\n');
    }
  });
  const index = listen.lastIndexOf(':');
  const host = listen.slice(0, index).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(index + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return Object.assign(server, { port: typeof address === 'object' && address ? address.port : port });
}
