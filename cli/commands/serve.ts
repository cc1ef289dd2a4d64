// `nicguard serve`: the controller daemon, with /metrics and /healthz; `nicguard telemetry collect`:
// one collection, for cron jobs and for looking.

import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { openEvidence } from '../../controller/ops/evidence';
import { startMetricsServer } from '../../controller/ops/metrics';
import { jsonLogger, Serve } from '../../controller/ops/serve';
import { telemetrySource } from '../../controller/device/device';
import { TelemetryCollector } from '../../controller/telemetry/collector';
import { addDeviceOptions, connectDevice, resolveDevice, type DeviceFlags } from '../device-options';
import { CliError, configOrFail, ExitCode, run, table, type CommandResult } from '../kit';
import { compileOrFail, loadPolicyOrFail, policyPaths } from './policy';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run the controller: keep every configured device enforcing the policy directory, collect telemetry, record evidence',
    )
    .option('--config <file>', 'nicguard.yaml to read')
    .option('--metrics <host:port>', 'where to serve /metrics and /healthz (default from the configuration)')
    .option('--liveness-ms <n>', 'how often to check that a device answers', '10000')
    .option(
      '--require-signature <pubkey.pem>',
      'refuse a policy directory not signed by this Ed25519 public key',
    )
    .addHelpText(
      'after',
      '\nLogs are JSON lines on stderr. SIGTERM or SIGINT stops it cleanly: evidence is flushed and a\n' +
        'checkpoint signed; the devices keep enforcing what they hold.\nExamples:\n  nicguard serve\n  nicguard serve --config /etc/nicguard/nicguard.yaml --metrics 0.0.0.0:9464',
    )
    .action(
      run(
        async (flags: {
          config?: string;
          metrics?: string;
          livenessMs: string;
          requireSignature?: string;
        }): Promise<CommandResult> => {
          const config = configOrFail(flags.config);
          if (!existsSync(config.policyDir)) {
            throw new CliError(
              `policy directory ${config.policyDir} does not exist`,
              ExitCode.BAD_INPUT,
              'create it, or run `nicguard init`',
            );
          }
          const log = jsonLogger();
          const evidence = openEvidence(config);
          if (!evidence.signing)
            log('warn', 'evidence.unsigned', {
              note: `no signing key at ${config.evidence.signingKey}: checkpoints cannot be signed (run nicguard init)`,
            });
          const serve = new Serve({
            config,
            evidence: evidence.log,
            signing: evidence.signing,
            log,
            livenessIntervalMs: Number(flags.livenessMs),
            requireSignature: flags.requireSignature
              ? readFileSync(flags.requireSignature, 'utf8')
              : undefined,
          });
          const metrics = await startMetricsServer(flags.metrics ?? config.metrics.listen, {
            serve,
            readings: () => serve.readings(),
          }).catch((err: Error) => {
            throw new CliError(
              `cannot serve metrics on ${flags.metrics ?? config.metrics.listen}: ${err.message}`,
              ExitCode.FAILURE,
              'pick another --metrics address',
            );
          });
          log('info', 'serve.started', {
            devices: config.devices.map((d) => d.name),
            policyDir: config.policyDir,
            metricsPort: metrics.port,
            pid: process.pid,
          });
          await serve.start();
          await new Promise<void>((resolve) => {
            process.once('SIGTERM', () => resolve());
            process.once('SIGINT', () => resolve());
          });
          log('info', 'serve.stopping', {});
          await serve.stop();
          metrics.close();
          evidence.log.close();
          log('info', 'serve.stopped', { evidenceRecords: 'flushed' });
          return { human: '', json: { stopped: true } };
        },
      ),
    );

  const telemetry = program.command('telemetry').description('read device counters into the evidence log');
  addDeviceOptions(
    telemetry
      .command('collect')
      .description('one collection: per-rule counters and quota windows due, appended as evidence'),
  )
    .argument(
      '[paths...]',
      'the policy in force (names rules and agents; default: the configured policy directory)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard telemetry collect --device dpu-1\n  nicguard telemetry collect -d 127.0.0.1:9559 --insecure --profile softnic --json',
    )
    .action(
      run(async (paths: string[], flags: DeviceFlags): Promise<CommandResult> => {
        const { config, device } = resolveDevice(flags);
        const { policySet } = loadPolicyOrFail(policyPaths(paths, flags.config ?? config.file));
        const evidence = openEvidence(config);
        const opened = await connectDevice(device);
        try {
          const compiled = compileOrFail(policySet, opened.client.profile);
          const collector = new TelemetryCollector(telemetrySource(opened.client), evidence.log, compiled, {
            device: device.name,
            profile: opened.client.profile,
            epoch: () => opened.cookie,
          });
          const result = await collector.collect();
          const rows = collector.ruleTotals();
          evidence.log.flush();
          if (evidence.signing) evidence.log.checkpoint();
          const human = [
            `${result.samples} sample(s) appended to ${config.evidence.database} (${result.rulesSeen} rules read in ${result.durationMs} ms)`,
            '',
            table(
              ['agent', 'rule', 'counted by', 'packets', 'bytes'],
              rows.map((r) => [
                r.agent ?? '?',
                r.rule ?? String(r.ruleId),
                r.table.replace(/^NicguardIngress\./, ''),
                r.packets,
                r.bytes,
              ]),
            ),
          ].join('\n');
          return { human, json: { ...result, rules: rows } };
        } finally {
          opened.client.close();
          evidence.log.close();
        }
      }),
    );
}
