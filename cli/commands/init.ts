// `nicguard init`: a starter configuration, a signing key pair and an example policy, so that a
// first `nicguard softnic` + `nicguard serve` works with nothing else.

import type { Command } from 'commander';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { requireUp } from '../../controller/paths';
import { writeSigningKeyPair } from '../../controller/ops/evidence';
import { CliError, ExitCode, run, type CommandResult } from '../kit';

const STARTER_CONFIG = `# nicguard configuration. Every setting has a default; relative paths are relative to this file.
# Secrets can come from the environment instead: NICGUARD_SIGNING_KEY (path of the signing key),
# NICGUARD_EVIDENCE_DB (path of the evidence database), NICGUARD_CONFIG (path of this file).

# Where the policy files are (*.yaml; all files of the directory form one policy set).
policyDir: policies

evidence:
  # SQLite evidence log (a Merkle log; every record is provable).
  database: nicguard-evidence.db
  # Ed25519 key that signs the log's checkpoints; its public half (.pub.pem) is what auditors pin.
  signingKey: keys/evidence-signing.pem
  # The log's identity in signed checkpoints.
  origin: nicguard.local/evidence

devices:
  # The built-in software target: start it with \`nicguard softnic --listen 127.0.0.1:9559\`.
  - name: softnic
    address: 127.0.0.1:9559
    deviceId: 1
    electionId: 1
    profile: softnic        # bmv2 | softnic | bluefield-dpl
    insecure: true          # plaintext only because it is on loopback
  # A BlueField-3 running the DOCA Pipeline Language runtime service, over mutual TLS:
  # - name: dpu-1
  #   address: 10.0.0.5:9559
  #   deviceId: 1
  #   electionId: 1
  #   profile: bluefield-dpl
  #   tls: { ca: tls/ca.pem, cert: tls/controller.pem, key: tls/controller.key }

telemetry:
  # How often serve reads the device counters into the evidence log.
  intervalMs: 5000

metrics:
  # Prometheus /metrics and /healthz of \`nicguard serve\`.
  listen: 127.0.0.1:9464
`;

function examplePolicy(): string {
  return requireUp(join('examples', 'support-agent.policy.yaml'), __dirname);
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a starter nicguard.yaml, an evidence signing key pair and an example policy')
    .option('--dir <dir>', 'where to write them', '.')
    .option('--force', 'overwrite nicguard.yaml and the example policy (never an existing signing key)')
    .addHelpText('after', '\nExamples:\n  nicguard init\n  nicguard init --dir /etc/nicguard')
    .action(
      run((flags: { dir: string; force?: boolean }): CommandResult => {
        const dir = resolve(flags.dir);
        const config = join(dir, 'nicguard.yaml');
        const policy = join(dir, 'policies', 'support-agent.policy.yaml');
        const key = join(dir, 'keys', 'evidence-signing.pem');
        const existing = [config, policy].filter((f) => existsSync(f));
        if (existing.length > 0 && !flags.force) {
          throw new CliError(
            `${existing.join(' and ')} already exist`,
            ExitCode.BAD_INPUT,
            'pass --force to overwrite them',
          );
        }
        mkdirSync(join(dir, 'policies'), { recursive: true });
        writeFileSync(config, STARTER_CONFIG);
        copyFileSync(examplePolicy(), policy);
        const keys = existsSync(key) ? undefined : writeSigningKeyPair(key);
        const json = {
          config,
          policy,
          signingKey: key,
          publicKey: keys?.publicKey,
          keyCreated: Boolean(keys),
        };
        const human = [
          `wrote ${config}`,
          `wrote ${policy}`,
          keys
            ? `wrote ${keys.privateKey} (mode 0600) and ${keys.publicKey}`
            : `kept the existing signing key ${key}`,
          '',
          'next: nicguard softnic &   then: nicguard apply   or: nicguard serve',
        ].join('\n');
        return { human, json };
      }),
    );
}
