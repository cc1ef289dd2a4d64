// `nicguard device status|pipeline|entries`: what a device says about itself over P4Runtime.

import type { Command } from 'commander';
import { decodeProvenance } from '../../controller/compiler/metadata';
import { entryToJson } from '../../controller/compiler/compile';
import { loadNicguardPipeline } from '../../controller/pipeline/artifacts';
import { TABLES } from '../../controller/pipeline/contract';
import { addDeviceOptions, connectDevice, resolveDevice, type DeviceFlags } from '../device-options';
import { run, table, type CommandResult } from '../kit';

export function registerDevice(program: Command): void {
  const device = program.command('device').description('inspect a device over P4Runtime');

  addDeviceOptions(
    device.command('status').description('reachability, arbitration, pipeline and entry counts'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard device status --device dpu-1\n  nicguard device status -d 127.0.0.1:9559 --insecure --json',
    )
    .action(
      run(async (flags: DeviceFlags): Promise<CommandResult> => {
        const { device: target } = resolveDevice(flags);
        const opened = await connectDevice(target);
        try {
          const rttMs = await opened.client.ping(5_000);
          const entries = await opened.client.readTableEntries();
          const perTable = new Map<string, number>();
          for (const e of entries) perTable.set(e.entry.table, (perTable.get(e.entry.table) ?? 0) + 1);
          const json = {
            device: target.name,
            address: target.address,
            profile: opened.profile.name,
            primary: opened.client.isPrimary,
            pipelineCookie: opened.cookie,
            pipelinePushed: opened.pipelinePushed,
            rttMs,
            entries: Object.fromEntries(perTable),
          };
          const human = [
            `${target.name === target.address ? target.address : `${target.name} at ${target.address}`}: reachable (${rttMs.toFixed(1)} ms), ${opened.client.isPrimary ? 'primary' : 'backup'} controller, profile ${opened.profile.name}`,
            `pipeline cookie ${opened.cookie}${opened.pipelinePushed ? ' (installed just now)' : ''}`,
            '',
            table(
              ['table', 'entries'],
              [...perTable].sort().map(([t, n]) => [t, n]),
            ),
          ].join('\n');
          return { human, json };
        } finally {
          opened.client.close();
        }
      }),
    );

  addDeviceOptions(
    device.command('pipeline').description("the device's pipeline cookie against nicguard's"),
  ).action(
    run(async (flags: DeviceFlags): Promise<CommandResult> => {
      const { device: target } = resolveDevice(flags);
      const pipeline = loadNicguardPipeline();
      const opened = await connectDevice(target);
      try {
        const installed = await opened.client.getPipelineCookie();
        const json = {
          device: target.name,
          installed,
          expected: pipeline.cookie,
          matches: installed === pipeline.cookie,
          pushed: opened.pipelinePushed,
        };
        return {
          human: `${target.name}: pipeline cookie ${installed ?? 'none'}; nicguard's is ${pipeline.cookie}${json.matches ? ' (match)' : ' (differs)'}`,
          json,
        };
      } finally {
        opened.client.close();
      }
    }),
  );

  addDeviceOptions(
    device.command('entries').description('every table entry on the device, with provenance and counters'),
  )
    .option('--table <name>', 'only this table (e.g. acl_v4)')
    .action(
      run(async (flags: DeviceFlags & { table?: string }): Promise<CommandResult> => {
        const { device: target } = resolveDevice(flags);
        const opened = await connectDevice(target);
        try {
          const readings = await opened.client.readTableEntries(flags.table, { counters: true });
          const rows = readings.map((r) => {
            const provenance = decodeProvenance(r.entry.metadata);
            return {
              table: r.entry.table,
              action: r.entry.action,
              priority: r.entry.priority,
              ...entryToJson(r.entry),
              provenance: provenance ? `${provenance.kind} ${provenance.name}` : null,
              packets: r.counter?.packets.toString(),
              bytes: r.counter?.bytes.toString(),
            };
          });
          const human = table(
            ['table', 'action', 'priority', 'provenance', 'packets', 'bytes'],
            rows.map((r) => [
              String(r.table).replace(/^NicguardIngress\./, ''),
              String(r.action).replace(/^NicguardIngress\./, ''),
              String(r.priority ?? ''),
              r.provenance ??
                (r.table === TABLES.quotaWindow.name ? '(runtime: quota window)' : '(none: drift)'),
              r.packets ?? '',
              r.bytes ?? '',
            ]),
          );
          return { human: `${rows.length} entries\n${human}`, json: { device: target.name, entries: rows } };
        } finally {
          opened.client.close();
        }
      }),
    );
}
