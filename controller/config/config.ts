// nicguard.yaml: which devices to drive, where the evidence lives, which key signs it, where the
// policies are. Every field has a default so a first run needs no file at all; a file that is
// present is checked whole, and every problem is reported with its line and column.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node } from 'yaml';
import { profileByName, PROFILES, type ProfileName } from '../pipeline/profiles';

export interface TlsConfig {
  /** CA bundle that signs the device's certificate (PEM file). */
  readonly ca?: string;
  /** Client certificate and key for mutual TLS (PEM files). */
  readonly cert?: string;
  readonly key?: string;
  /** Name to check the device certificate against, when it differs from the address host. */
  readonly serverName?: string;
}

export interface DeviceConfig {
  readonly name: string;
  /** host:port of the device's P4Runtime server. */
  readonly address: string;
  readonly deviceId: bigint;
  readonly electionId: bigint;
  readonly role?: string;
  readonly profile: ProfileName;
  /** Plaintext gRPC: only when asked for explicitly. */
  readonly insecure: boolean;
  readonly tls?: TlsConfig;
}

export interface NicguardConfig {
  /** The file this came from, or undefined when defaults were used. */
  readonly file?: string;
  readonly policyDir: string;
  readonly evidence: {
    readonly database: string;
    readonly signingKey: string;
    readonly origin: string;
  };
  readonly devices: readonly DeviceConfig[];
  readonly telemetry: { readonly intervalMs: number };
  readonly metrics: { readonly listen: string };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'BAD_CONFIG';
  constructor(
    readonly file: string,
    readonly problems: readonly { line: number; column: number; field: string; message: string }[],
  ) {
    super(
      problems.map((p) => `${file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n') ||
        `${file}: invalid configuration`,
    );
  }
}

export const DEFAULT_CONFIG_FILE = 'nicguard.yaml';

/** Environment variables that override the file, for secrets and for CI. */
export const ENV = {
  config: 'NICGUARD_CONFIG',
  database: 'NICGUARD_EVIDENCE_DB',
  signingKey: 'NICGUARD_SIGNING_KEY',
} as const;

function defaults(baseDir: string): NicguardConfig {
  return {
    policyDir: resolve(baseDir, 'policies'),
    evidence: {
      database: resolve(baseDir, 'nicguard-evidence.db'),
      signingKey: resolve(baseDir, 'keys/evidence-signing.pem'),
      origin: 'nicguard.local/evidence',
    },
    devices: [
      {
        name: 'softnic',
        address: '127.0.0.1:9559',
        deviceId: 1n,
        electionId: 1n,
        profile: 'softnic',
        insecure: true,
      },
    ],
    telemetry: { intervalMs: 5000 },
    metrics: { listen: '127.0.0.1:9464' },
  };
}

/**
 * Loads the configuration: the file named by `path`, else $NICGUARD_CONFIG, else ./nicguard.yaml
 * when it exists, else the defaults. Relative paths in the file are relative to the file.
 */
export function loadConfig(path?: string, env: NodeJS.ProcessEnv = process.env): NicguardConfig {
  const named = path ?? env[ENV.config];
  const file = named ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  let config: NicguardConfig;
  if (!file) config = defaults(process.cwd());
  else {
    const full = resolve(file);
    if (!existsSync(full)) {
      throw new ConfigError(full, [{ line: 1, column: 1, field: '(file)', message: 'no such file' }]);
    }
    config = parseConfig(readFileSync(full, 'utf8'), full);
  }
  return {
    ...config,
    evidence: {
      ...config.evidence,
      database: env[ENV.database] ? resolve(env[ENV.database]!) : config.evidence.database,
      signingKey: env[ENV.signingKey] ? resolve(env[ENV.signingKey]!) : config.evidence.signingKey,
    },
  };
}

type Problem = { line: number; column: number; field: string; message: string };

/** Parses the text of a nicguard.yaml; `file` names it in errors and anchors relative paths. */
export function parseConfig(text: string, file: string): NicguardConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: Problem[] = [];
  const at = (node: Node | null | undefined): { line: number; column: number } => {
    const offset = node?.range?.[0] ?? 0;
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  for (const error of doc.errors) {
    const pos = lines.linePos(error.pos[0]);
    problems.push({
      line: pos.line,
      column: pos.col,
      field: '(yaml)',
      message: error.message.split('\n')[0],
    });
  }
  if (problems.length > 0) throw new ConfigError(file, problems);

  const base = defaults(dirname(file));
  const root = doc.contents;
  if (root !== null && !isMap(root)) {
    throw new ConfigError(file, [
      { ...at(root), field: '(root)', message: 'expected a mapping of settings' },
    ]);
  }
  const reader = new Reader(doc, problems, at, dirname(file));
  reader.allowOnly([], ['policyDir', 'evidence', 'devices', 'telemetry', 'metrics']);
  reader.allowOnly(['evidence'], ['database', 'signingKey', 'origin']);
  reader.allowOnly(['telemetry'], ['intervalMs']);
  reader.allowOnly(['metrics'], ['listen']);

  const devicesNode = doc.getIn(['devices'], true) as Node | undefined;
  let devices = base.devices;
  if (devicesNode !== undefined) {
    if (!isSeq(devicesNode)) {
      problems.push({ ...at(devicesNode), field: 'devices', message: 'expected a list of devices' });
    } else {
      devices = devicesNode.items.map((_, i) => reader.device(i));
      const names = new Set<string>();
      devices.forEach((d, i) => {
        if (names.has(d.name)) {
          problems.push({
            ...reader.pos(['devices', i, 'name']),
            field: `devices[${i}].name`,
            message: `duplicate device name "${d.name}"`,
          });
        }
        names.add(d.name);
      });
    }
  }
  const config: NicguardConfig = {
    file,
    policyDir: reader.path(['policyDir']) ?? base.policyDir,
    evidence: {
      database: reader.path(['evidence', 'database']) ?? base.evidence.database,
      signingKey: reader.path(['evidence', 'signingKey']) ?? base.evidence.signingKey,
      origin: reader.string(['evidence', 'origin']) ?? base.evidence.origin,
    },
    devices,
    telemetry: {
      intervalMs: reader.integer(['telemetry', 'intervalMs'], 100, 3_600_000) ?? base.telemetry.intervalMs,
    },
    metrics: { listen: reader.address(['metrics', 'listen']) ?? base.metrics.listen },
  };
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

class Reader {
  constructor(
    private readonly doc: Document,
    private readonly problems: Problem[],
    private readonly at: (node: Node | null | undefined) => { line: number; column: number },
    private readonly baseDir: string,
  ) {}

  private node(path: readonly (string | number)[]): Node | undefined {
    return this.doc.getIn(path, true) as Node | undefined;
  }

  pos(path: readonly (string | number)[]): { line: number; column: number } {
    let probe = [...path];
    while (probe.length > 0 && this.node(probe) === undefined) probe = probe.slice(0, -1);
    return this.at(probe.length > 0 ? this.node(probe) : (this.doc.contents as Node | null));
  }

  private fail(path: readonly (string | number)[], message: string): undefined {
    const field = path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
      .join('')
      .replace(/^\./, '');
    this.problems.push({ ...this.pos(path), field, message });
    return undefined;
  }

  allowOnly(path: readonly (string | number)[], known: readonly string[]): void {
    const node = path.length === 0 ? (this.doc.contents as Node | null) : this.node(path);
    if (!node) return;
    if (!isMap(node)) {
      this.fail(path, `expected a mapping with ${known.join(', ')}`);
      return;
    }
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
      if (!known.includes(key)) {
        const field = [...path, key]
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
          .join('')
          .slice(1);
        this.problems.push({
          ...this.at(pair.key as Node),
          field,
          message: `unknown setting; expected one of ${known.join(', ')}`,
        });
      }
    }
  }

  private value(path: readonly (string | number)[]): unknown {
    return this.doc.getIn(path);
  }

  string(path: readonly (string | number)[]): string | undefined {
    const v = this.value(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length === 0) return this.fail(path, 'expected a non-empty string');
    return v;
  }

  path(path: readonly (string | number)[]): string | undefined {
    const v = this.string(path);
    return v === undefined ? undefined : isAbsolute(v) ? v : resolve(this.baseDir, v);
  }

  integer(path: readonly (string | number)[], min: number, max: number): number | undefined {
    const v = this.value(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return this.fail(path, `expected an integer from ${min} to ${max}`);
    }
    return v;
  }

  bigint(path: readonly (string | number)[], min: bigint): bigint | undefined {
    const v = this.value(path);
    if (v === undefined || v === null) return undefined;
    const ok =
      (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^\d+$/.test(v));
    if (!ok || BigInt(v as number | string) < min) return this.fail(path, `expected an integer ≥ ${min}`);
    return BigInt(v as number | string);
  }

  address(path: readonly (string | number)[]): string | undefined {
    const v = this.string(path);
    if (v === undefined) return undefined;
    if (
      !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v) ||
      Number(v.slice(v.lastIndexOf(':') + 1)) > 65535
    ) {
      return this.fail(path, 'expected host:port, e.g. 127.0.0.1:9559 or [::1]:9559');
    }
    return v;
  }

  device(i: number): DeviceConfig {
    const p = (field: string): (string | number)[] => ['devices', i, field];
    this.allowOnly(
      ['devices', i],
      ['name', 'address', 'deviceId', 'electionId', 'role', 'profile', 'insecure', 'tls'],
    );
    this.allowOnly(['devices', i, 'tls'], ['ca', 'cert', 'key', 'serverName']);
    const profileText = this.string(p('profile')) ?? 'bmv2';
    let profile: ProfileName = 'bmv2';
    try {
      profile = profileByName(profileText).name;
    } catch {
      this.fail(
        p('profile'),
        `unknown profile "${profileText}"; expected one of ${Object.keys(PROFILES).join(', ')}`,
      );
    }
    const insecureValue = this.value(p('insecure'));
    if (insecureValue !== undefined && typeof insecureValue !== 'boolean')
      this.fail(p('insecure'), 'expected true or false');
    const insecure = insecureValue === true;
    const tlsNode = this.node(p('tls'));
    const tls: TlsConfig | undefined = tlsNode
      ? {
          ca: this.path(['devices', i, 'tls', 'ca']),
          cert: this.path(['devices', i, 'tls', 'cert']),
          key: this.path(['devices', i, 'tls', 'key']),
          serverName: this.string(['devices', i, 'tls', 'serverName']),
        }
      : undefined;
    if (insecure && tls) this.fail(p('tls'), 'a device is either insecure or has tls settings, not both');
    if (!insecure && !tls)
      this.fail(['devices', i], 'say how to reach the device: tls: {ca: …} or insecure: true');
    if (tls && Boolean(tls.cert) !== Boolean(tls.key))
      this.fail(p('tls'), 'mutual TLS needs both cert and key');
    const address = this.address(p('address'));
    if (address === undefined && this.value(p('address')) === undefined)
      this.fail(p('address'), 'required: host:port');
    return {
      name: this.string(p('name')) ?? `device-${i + 1}`,
      address: address ?? '127.0.0.1:9559',
      deviceId: this.bigint(p('deviceId'), 1n) ?? 1n,
      electionId: this.bigint(p('electionId'), 1n) ?? 1n,
      role: this.string(p('role')),
      profile,
      insecure,
      tls,
    };
  }
}
