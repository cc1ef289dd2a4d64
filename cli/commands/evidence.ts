// `nicguard evidence verify|prove|check-proof|report|export|keygen`: the auditor's side of the
// evidence log. Everything an auditor needs to trust the log is checkable here with the public key
// alone; only `prove --checkpoint` and `keygen` touch a private key.

import type { Command } from 'commander';
import { writeSigningKeyPair as writeKeyFiles } from '../../controller/ops/evidence';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { NicguardConfig } from '../../controller/config/config';
import {
  checkProof,
  decodeLeaf,
  EvidenceError,
  EvidenceLog,
  loadPrivateKey,
  loadPublicKey,
  noteKeyId,
  PROOF_FORMAT,
  type InclusionProofBundle,
  type VerifyResult,
} from '../../controller/evidence';
import { buildReportData, isoTime } from '../../controller/reports/from-evidence';
import { renderReportHtml, renderReportJson } from '../../controller/reports/report';
import {
  configOrFail,
  CliError,
  ExitCode,
  formatBytes,
  interactive,
  run,
  type CommandResult,
  type GlobalOptions,
} from '../kit';

interface DbOptions {
  db?: string;
  config?: string;
}

function config(path: string | undefined): NicguardConfig {
  return configOrFail(path, 'fix the configuration file, or pass --db');
}

/** The database to read: --db, else $NICGUARD_EVIDENCE_DB or the configured one. Never created here. */
function databasePath(opts: DbOptions): string {
  const path = opts.db !== undefined ? resolve(opts.db) : config(opts.config).evidence.database;
  const hint = 'pass --db <file>, set NICGUARD_EVIDENCE_DB, or set evidence.database in nicguard.yaml';
  if (!existsSync(path)) throw new CliError(`no evidence log at ${path}`, ExitCode.BAD_INPUT, hint);
  // SQLite would happily turn an empty file into a new, empty log; an audit must not write one.
  if (statSync(path).size === 0)
    throw new CliError(`${path} is empty, not an evidence log`, ExitCode.BAD_INPUT, hint);
  return path;
}

function openLog(path: string, signer?: { origin: string; privateKey: KeyObject }): EvidenceLog {
  try {
    return EvidenceLog.open(path, signer ? { signer } : {});
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'SCHEMA' || code === 'SQLITE_NOTADB') {
      throw new CliError(
        `${path} is not a nicguard evidence log (${(err as Error).message})`,
        ExitCode.BAD_INPUT,
        'point --db at the database the controller writes (evidence.database in nicguard.yaml)',
      );
    }
    throw err;
  }
}

function withLog<T>(path: string, use: (log: EvidenceLog) => T): T {
  const log = openLog(path);
  try {
    return use(log);
  } finally {
    log.close();
  }
}

/** A key given as a PEM file, or as the PEM text itself. */
function readKey(value: string, kind: 'public' | 'private', option: string): KeyObject {
  let text = value;
  if (!value.startsWith('-----BEGIN')) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new CliError(
        `cannot read ${kind} key ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        ExitCode.BAD_INPUT,
        `pass ${option} <file> naming a PEM file you can read`,
      );
    }
  }
  try {
    return kind === 'public' ? loadPublicKey(text) : loadPrivateKey(text);
  } catch (err) {
    throw new CliError(
      `${value} is not a usable ${kind} key: ${(err as Error).message}`,
      ExitCode.BAD_INPUT,
      kind === 'public'
        ? 'pass the Ed25519 public key PEM the log signs with (nicguard evidence keygen writes it)'
        : 'pass the Ed25519 private key PEM written by nicguard evidence keygen',
    );
  }
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

// ---------------------------------------------------------------------------------------------------
// Times

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const RELATIVE = /^(?:now)?([+-])(\d+)(ms|s|m|h|d|w)$/;
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A point in time from the command line: `now`, relative to now (`-24h`, `-30m`, `now-7d`, `+1h`), or
 * ISO 8601 (`2025-03-14`, `2025-03-14T09:00Z`, `2025-03-14T09:00:00+01:00`). A date-time without an
 * offset is UTC, so a report means the same thing wherever it is run.
 */
export function parseTime(text: string, now: number): number | undefined {
  const t = text.trim();
  if (t.toLowerCase() === 'now') return now;
  const rel = RELATIVE.exec(t.toLowerCase());
  if (rel) {
    const ms = Number(rel[2]) * (UNIT_MS[rel[3] as string] as number);
    return rel[1] === '-' ? now - ms : now + ms;
  }
  if (!ISO.test(t)) return undefined;
  const hasOffset = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(t) && t.length > 10;
  const ms = Date.parse(t.length > 10 && !hasOffset ? `${t}Z` : t);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

function timeOption(text: string, option: string, now: number): number {
  const ms = parseTime(text, now);
  if (ms === undefined) {
    throw new CliError(
      `${option} "${text}" is not a time`,
      ExitCode.BAD_INPUT,
      `use ISO 8601 (2025-03-14T09:00:00Z, 2025-03-14) or a time relative to now (-24h, -30m, -7d, now)`,
    );
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------------
// verify

/**
 * Runs the full verification in a worker so the terminal can show that it is alive meanwhile; the
 * store's verify() gives no progress of its own, so what is shown is the size and the time taken.
 */
function verifyInWorker(
  db: string,
  publicKeyPem: string | undefined,
  records: number,
): Promise<VerifyResult> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { EvidenceLog } = require(workerData.module);
    const log = EvidenceLog.open(workerData.db);
    try {
      parentPort.postMessage(log.verify(workerData.publicKey ? { publicKey: workerData.publicKey } : {}));
    } finally {
      log.close();
    }`;
  const worker = new Worker(source, {
    eval: true,
    workerData: { module: require.resolve('../../controller/evidence'), db, publicKey: publicKeyPem },
  });
  const started = Date.now();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let shown = false;
  const tick = setInterval(() => {
    shown = true;
    const seconds = Math.floor((Date.now() - started) / 1000);
    process.stderr.write(
      `\r${frames[frame++ % frames.length]} verifying ${count(records)} records… ${seconds}s`,
    );
  }, 250);
  return new Promise<VerifyResult>((resolvePromise, reject) => {
    worker.once('message', (result: VerifyResult) => resolvePromise(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`verification stopped (worker exit ${code})`));
    });
  }).finally(() => {
    clearInterval(tick);
    if (shown) process.stderr.write('\r\x1b[2K');
  });
}

function problemText(result: Extract<VerifyResult, { ok: false }>): string {
  const p = result.problem;
  const where = p.seq === undefined ? '' : `record ${p.seq}${p.kind ? ` (${p.kind})` : ''}: `;
  return `${where}${p.code}: ${p.detail}`;
}

async function verifyCommand(
  opts: DbOptions & { publicKey?: string },
  global: GlobalOptions,
): Promise<CommandResult> {
  const db = databasePath(opts);
  const key = opts.publicKey === undefined ? undefined : readKey(opts.publicKey, 'public', '--public-key');
  const keyPem = key?.export({ type: 'spki', format: 'pem' }).toString();
  const size = withLog(db, (log) => log.size);
  const result: VerifyResult = interactive(global)
    ? await verifyInWorker(db, keyPem, size)
    : withLog(db, (log) => log.verify(keyPem ? { publicKey: keyPem } : {}));
  if (!result.ok) {
    return {
      human: `evidence log FAILED verification\n  ${problemText(result)}\n  database: ${db}`,
      json: { ok: false, database: db, problem: result.problem },
      exitCode: ExitCode.VERIFICATION_FAILED,
    };
  }
  const keySource = !result.signaturesChecked ? 'none' : key ? 'option' : 'log';
  const lines = [
    `evidence log verified: ${count(result.records)} records, ${count(result.checkpoints)} checkpoint(s)`,
    `  root ${result.rootHash} (tree size ${count(result.treeSize)})`,
  ];
  if (keySource === 'log') {
    lines.push('  signatures checked with the key stored in the log; pass --public-key to pin your own');
  } else if (keySource === 'option') {
    lines.push('  signatures checked with the key given by --public-key');
  }
  if (result.checkpoints === 0 && result.records > 0) {
    lines.push('  warning: no signed checkpoint: the newest records could be removed without trace');
  }
  return {
    human: lines.join('\n'),
    json: {
      ok: true,
      database: db,
      records: result.records,
      checkpoints: result.checkpoints,
      treeSize: result.treeSize,
      rootHash: result.rootHash,
      signaturesChecked: result.signaturesChecked,
      keySource,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// prove / check-proof

function proveCommand(
  seqText: string,
  opts: DbOptions & { out?: string; leaf: boolean; checkpoint?: boolean },
): CommandResult {
  if (!/^\d+$/.test(seqText) || !Number.isSafeInteger(Number(seqText))) {
    throw new CliError(
      `"${seqText}" is not a record number`,
      ExitCode.BAD_INPUT,
      'pass the seq of a record (0, 1, 2, …)',
    );
  }
  const seq = Number(seqText);
  const db = databasePath(opts);
  let signer: { origin: string; privateKey: KeyObject } | undefined;
  if (opts.checkpoint) {
    const cfg = config(opts.config);
    signer = {
      origin: cfg.evidence.origin,
      privateKey: readKey(cfg.evidence.signingKey, 'private', 'NICGUARD_SIGNING_KEY'),
    };
  }
  const log = openLog(db, signer);
  let bundle: InclusionProofBundle;
  try {
    if (seq >= log.size) {
      throw new CliError(
        `no record ${seq}: the log holds ${count(log.size)} record(s)`,
        ExitCode.BAD_INPUT,
        'list records with `nicguard evidence export --jsonl`',
      );
    }
    if (signer && (log.latestCheckpoint()?.treeSize ?? 0) <= seq) log.checkpoint();
    try {
      bundle = log.inclusionProof(seq, { includeLeaf: opts.leaf });
    } catch (err) {
      if (err instanceof EvidenceError && err.code === 'NOT_COVERED') {
        throw new CliError(
          `record ${seq} is not covered by a signed checkpoint yet (${err.message})`,
          ExitCode.BAD_INPUT,
          'sign one first: `nicguard evidence prove <seq> --checkpoint` (uses evidence.signingKey)',
        );
      }
      throw err;
    }
  } finally {
    log.close();
  }
  const record = bundle.leaf === undefined ? undefined : decodeLeaf(Buffer.from(bundle.leaf, 'base64'));
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  const out = opts.out === undefined ? undefined : resolve(opts.out);
  if (out !== undefined) writeFileSync(out, text);
  const what = record ? `${record.kind} at ${isoTime(record.timeMs)}` : 'leaf hash only';
  return {
    human:
      out === undefined
        ? text
        : [
            `proof of record ${seq} (${what}) against the checkpoint of ${count(bundle.treeSize)} records written to ${out}`,
            `check it with: nicguard evidence check-proof ${opts.out} --public-key <public.pem> --origin ${bundle.origin}`,
          ].join('\n'),
    json: {
      seq,
      ...(record ? { kind: record.kind, time: isoTime(record.timeMs) } : {}),
      origin: bundle.origin,
      treeSize: bundle.treeSize,
      out: out ?? null,
      proof: bundle,
    },
  };
}

const BUNDLE_HINT = 'pass the JSON file written by `nicguard evidence prove <seq> --out proof.json`';

function readBundle(file: string): InclusionProofBundle {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      ExitCode.BAD_INPUT,
      BUNDLE_HINT,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`, ExitCode.BAD_INPUT, BUNDLE_HINT);
  }
  const b = doc as Partial<InclusionProofBundle> | null;
  const problems: string[] = [];
  if (typeof b !== 'object' || b === null || Array.isArray(b)) problems.push('not a JSON object');
  else {
    if (b.format !== PROOF_FORMAT)
      problems.push(`format is ${JSON.stringify(b.format)}, not "${PROOF_FORMAT}"`);
    if (!Number.isSafeInteger(b.leafIndex)) problems.push('leafIndex must be an integer');
    if (!Number.isSafeInteger(b.treeSize)) problems.push('treeSize must be an integer');
    if (typeof b.leafHash !== 'string') problems.push('leafHash must be a string');
    if (!Array.isArray(b.proof) || !b.proof.every((p) => typeof p === 'string'))
      problems.push('proof must be an array of strings');
    if (typeof b.checkpoint !== 'string') problems.push('checkpoint must be a string');
    if (b.leaf !== undefined && typeof b.leaf !== 'string') problems.push('leaf must be a string');
  }
  if (problems.length > 0) {
    throw new CliError(
      `${file} is not an inclusion proof bundle: ${problems.join('; ')}`,
      ExitCode.BAD_INPUT,
      BUNDLE_HINT,
    );
  }
  return b as InclusionProofBundle;
}

function checkProofCommand(file: string, opts: { publicKey?: string; origin?: string }): CommandResult {
  if (opts.publicKey === undefined || opts.origin === undefined) {
    throw new CliError(
      `check-proof needs ${opts.publicKey === undefined ? '--public-key' : '--origin'}`,
      ExitCode.BAD_INPUT,
      'pin both out of band: --public-key <log public key PEM> --origin <log origin, e.g. nicguard.local/evidence>',
    );
  }
  const key = readKey(opts.publicKey, 'public', '--public-key');
  const bundle = readBundle(file);
  try {
    const checked = checkProof(bundle, key, opts.origin);
    const r = checked.record;
    return {
      human: [
        `proof valid: record ${checked.leafIndex}${r ? ` (${r.kind} at ${isoTime(r.time)})` : ''} is in log ${checked.origin} of ${count(checked.treeSize)} records`,
        `  root ${checked.rootHash}`,
        `  leaf ${checked.leafHash}`,
        ...(r
          ? [`  record ${JSON.stringify(r.body)}`]
          : ['  the bundle proves the leaf hash only; the record itself is not disclosed']),
      ].join('\n'),
      json: {
        valid: true,
        origin: checked.origin,
        leafIndex: checked.leafIndex,
        treeSize: checked.treeSize,
        leafHash: checked.leafHash,
        rootHash: checked.rootHash,
        ...(r ? { record: { seq: r.seq, kind: r.kind, time: isoTime(r.time), body: r.body } } : {}),
      },
    };
  } catch (err) {
    if (!(err instanceof EvidenceError)) throw err;
    return {
      human: `proof INVALID: ${err.message}`,
      json: { valid: false, problem: { code: err.code, detail: err.message } },
      exitCode: ExitCode.VERIFICATION_FAILED,
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// report

function compactTime(ms: number): string {
  return isoTime(ms).replace(/[-:]/g, '').replace(/\.\d+/, '').replace(/00Z$/, 'Z');
}

function reportCommand(
  opts: DbOptions & {
    from: string;
    to: string;
    out?: string;
    title?: string;
    publicKey?: string;
    verify: boolean;
  },
  global: GlobalOptions,
): CommandResult {
  // Whole seconds read better in a report's period; rounding up keeps the newest records inside it.
  const now = Math.ceil(Date.now() / 1000) * 1000;
  const from = timeOption(opts.from, '--from', now);
  const to = timeOption(opts.to, '--to', now);
  if (to <= from) {
    throw new CliError(
      `the period ends (${isoTime(to)}) before it starts (${isoTime(from)})`,
      ExitCode.BAD_INPUT,
      'give --from earlier than --to',
    );
  }
  const db = databasePath(opts);
  const key = opts.publicKey === undefined ? undefined : readKey(opts.publicKey, 'public', '--public-key');
  const data = withLog(db, (log) =>
    buildReportData(log, {
      from,
      to,
      title: opts.title ?? 'nicguard audit report',
      verify: opts.verify ? (key ?? true) : false,
      now,
    }),
  );
  const exitCode = data.log.verified === false ? ExitCode.VERIFICATION_FAILED : ExitCode.OK;
  if (global.json && opts.out === undefined) return { human: '', json: data, exitCode };
  const out = resolve(
    opts.out ?? `nicguard-report-${compactTime(from)}-${compactTime(to)}.${global.json ? 'json' : 'html'}`,
  );
  writeFileSync(out, global.json ? renderReportJson(data) : renderReportHtml(data));
  const denials = data.agents.reduce((s, a) => s + a.denials.total, 0);
  const bytesOut = data.agents.reduce((s, a) => s + a.bytesOut, 0);
  const verdict =
    data.log.verified === true
      ? 'verified'
      : data.log.verified === false
        ? `FAILED verification: ${data.log.firstBadRecord ?? ''}`
        : 'not verified';
  return {
    human: [
      out,
      `  ${data.from} → ${data.to}: ${count(data.agents.length)} agent(s), ${formatBytes(bytesOut)} out, ` +
        `at least ${count(denials)} denial(s), ${count(data.log.records)} record(s)`,
      `  evidence log ${verdict}`,
    ].join('\n'),
    json: {
      out,
      format: 'json',
      from: data.from,
      to: data.to,
      records: data.log.records,
      verified: data.log.verified,
    },
    exitCode,
  };
}

// ---------------------------------------------------------------------------------------------------
// export

const CHUNK_BYTES = 1 << 20;

class StopExport extends Error {}

function exportCommand(
  opts: DbOptions & { jsonl?: boolean; out?: string },
  global: GlobalOptions,
): CommandResult {
  if (!opts.jsonl) {
    throw new CliError(
      'choose an export format',
      ExitCode.BAD_INPUT,
      'pass --jsonl (one JSON object per record)',
    );
  }
  if (global.json && opts.out === undefined) {
    throw new CliError(
      '--json prints a summary document, which would mix with the export on stdout',
      ExitCode.BAD_INPUT,
      'pass --out <file> for the export, or drop --json to stream it to stdout',
    );
  }
  const db = databasePath(opts);
  const out = opts.out === undefined ? undefined : resolve(opts.out);
  const fd = out === undefined ? 1 : openSync(out, 'w');
  let buffer: string[] = [];
  let buffered = 0;
  let records = 0;
  let checkpoints = 0;
  const flush = (): void => {
    if (buffered === 0) return;
    try {
      writeSync(fd, buffer.join(''));
    } catch (err) {
      // A reader that stopped early (`| head`) is not an error of the export.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') throw new StopExport();
      throw err;
    }
    buffer = [];
    buffered = 0;
  };
  try {
    withLog(db, (log) =>
      log.exportJsonl((line) => {
        if (line.startsWith('{"type":"record"')) records++;
        else checkpoints++;
        buffer.push(line, '\n');
        buffered += line.length + 1;
        if (buffered >= CHUNK_BYTES) flush();
      }),
    );
    flush();
  } catch (err) {
    if (!(err instanceof StopExport)) throw err;
  } finally {
    if (out !== undefined) closeSync(fd);
  }
  if (out === undefined) return { human: '', json: null };
  return {
    human: `exported ${count(records)} record(s) and ${count(checkpoints)} checkpoint(s) to ${out}`,
    json: { out, format: 'jsonl', records, checkpoints, lines: records + checkpoints },
  };
}

// ---------------------------------------------------------------------------------------------------
// keygen

export interface WrittenKeyPair {
  privateKey: string;
  publicKey: string;
  /** Signed-note key id for the origin (hex, 4 bytes): the id checkpoints carry. */
  keyId: string;
  origin: string;
}

/**
 * Writes a new Ed25519 checkpoint signing key pair: `<base>.pem` readable by the owner only, and
 * `<base>.pub.pem` for auditors. An existing key is replaced only when asked, since checkpoints it
 * signed can then be checked only with the old public key.
 */
export function writeSigningKeyPair(
  dir: string,
  options: { base?: string; origin: string; force?: boolean },
): WrittenKeyPair {
  const privatePath = resolve(dir, `${options.base ?? 'evidence-signing'}.pem`);
  let written: { privateKey: string; publicKey: string };
  try {
    written = writeKeyFiles(privatePath, { force: options.force });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      code ? `cannot write the key pair in ${dir}: ${code}` : (err as Error).message,
      ExitCode.BAD_INPUT,
      code
        ? 'choose a writable --out-dir'
        : 'pass --force to replace it (keep the old public key: earlier checkpoints verify only with it), or choose --out-dir',
    );
  }
  const keyId = noteKeyId(options.origin, loadPublicKey(readFileSync(written.publicKey, 'utf8'))).toString(
    'hex',
  );
  return { ...written, keyId, origin: options.origin };
}

function keygenCommand(opts: {
  outDir?: string;
  origin?: string;
  force?: boolean;
  config?: string;
}): CommandResult {
  const cfg = opts.outDir === undefined || opts.origin === undefined ? config(opts.config) : undefined;
  const dir = resolve(opts.outDir ?? dirname(cfg?.evidence.signingKey ?? 'keys/evidence-signing.pem'));
  const base = cfg ? basename(cfg.evidence.signingKey).replace(/\.pem$/, '') : undefined;
  const origin = opts.origin ?? cfg?.evidence.origin ?? 'nicguard.local/evidence';
  if (origin === '' || /[\s+]/u.test(origin)) {
    throw new CliError(
      `origin "${origin}" cannot name a log`,
      ExitCode.BAD_INPUT,
      'use an origin without spaces or "+"',
    );
  }
  const written = writeSigningKeyPair(dir, { ...(base ? { base } : {}), origin, force: opts.force ?? false });
  return {
    human: [
      written.publicKey,
      `  key id ${written.keyId} for origin ${written.origin}`,
      `  private key ${written.privateKey} (mode 0600): keep it on the controller host only`,
      `  auditors verify with: nicguard evidence verify --public-key ${written.publicKey}`,
    ].join('\n'),
    json: written,
  };
}

// ---------------------------------------------------------------------------------------------------

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

export function registerEvidence(program: Command): void {
  const evidence = program
    .command('evidence')
    .description('verify the evidence log, prove records to third parties, and produce audit reports');

  const dbOptions = (c: Command): Command =>
    c
      .option('--db <file>', 'evidence database (default: evidence.database from nicguard.yaml)')
      .option('--config <file>', 'nicguard.yaml to read');

  dbOptions(
    evidence
      .command('verify')
      .description('recompute the Merkle tree, check every checkpoint signature and their consistency')
      .option('--public-key <pem>', 'the log public key to pin (default: the key recorded in the log)'),
  )
    .addHelpText(
      'after',
      '\nExit status 4 when verification fails, naming the first bad record.\n\nExamples:\n  nicguard evidence verify --public-key keys/evidence-signing.pub.pem\n  nicguard evidence verify --db /var/lib/nicguard/evidence.db --json',
    )
    .action(
      run((opts: DbOptions & { publicKey?: string }, command: Command) =>
        verifyCommand(opts, globals(command)),
      ),
    );

  dbOptions(
    evidence
      .command('prove')
      .description('write an inclusion proof that a third party can check with the public key alone')
      .argument('<seq>', 'the record number to prove')
      .option('--out <file>', 'write the proof bundle here (default: print it)')
      .option('--no-leaf', 'prove the leaf hash without disclosing the record')
      .option('--checkpoint', 'sign a checkpoint first if none covers the record (uses evidence.signingKey)'),
  )
    .addHelpText('after', '\nExamples:\n  nicguard evidence prove 1042 --out proof-1042.json')
    .action(
      run((seq: string, opts: DbOptions & { out?: string; leaf: boolean; checkpoint?: boolean }) =>
        proveCommand(seq, opts),
      ),
    );

  evidence
    .command('check-proof')
    .description('check an inclusion proof bundle; needs no database')
    .argument('<proof.json>', 'a bundle written by `nicguard evidence prove`')
    .option('--public-key <pem>', 'the log public key, obtained out of band')
    .option('--origin <origin>', 'the log origin, obtained out of band')
    .addHelpText(
      'after',
      '\nExit status 0 when the proof is valid, 4 when it is not.\n\nExample:\n  nicguard evidence check-proof proof-1042.json --public-key evidence-signing.pub.pem --origin nicguard.local/evidence',
    )
    .action(
      run((file: string, opts: { publicKey?: string; origin?: string }) => checkProofCommand(file, opts)),
    );

  dbOptions(
    evidence
      .command('report')
      .description('audit report for a period: HTML by default, the report data with --json')
      .option('--from <time>', 'start: ISO 8601 or relative (-24h, -7d, now)', '-24h')
      .option('--to <time>', 'end (exclusive): ISO 8601 or relative', 'now')
      .option('--out <file>', 'where to write the report (default: nicguard-report-<from>-<to>.html here)')
      .option('--title <text>', 'report title')
      .option('--public-key <pem>', 'key to verify the log with (default: the key recorded in the log)')
      .option('--no-verify', 'do not verify the log (the report then says it was not checked)'),
  )
    .addHelpText(
      'after',
      '\nWith --json the report data is printed; with --json --out it is written to the file instead.\nExit status 4 when the log fails verification (the report is still written).\n\nExamples:\n  nicguard evidence report --from -24h --to now\n  nicguard evidence report --from 2025-03-14 --to 2025-03-15 --out march-14.html\n  nicguard --json evidence report --from -7d > week.json',
    )
    .action(
      run(
        (
          opts: DbOptions & {
            from: string;
            to: string;
            out?: string;
            title?: string;
            publicKey?: string;
            verify: boolean;
          },
          command: Command,
        ) => reportCommand(opts, globals(command)),
      ),
    );

  dbOptions(
    evidence
      .command('export')
      .description('every record with its leaf hash, then every checkpoint, one JSON object per line')
      .option('--jsonl', 'JSON Lines (the export format)')
      .option('--out <file>', 'write here (default: stdout)'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard evidence export --jsonl > evidence.jsonl\n  nicguard evidence export --jsonl --out evidence.jsonl',
    )
    .action(
      run((opts: DbOptions & { jsonl?: boolean; out?: string }, command: Command) =>
        exportCommand(opts, globals(command)),
      ),
    );

  evidence
    .command('keygen')
    .description('write an Ed25519 key pair for signing checkpoints (private key mode 0600)')
    .option('--out-dir <dir>', 'directory for the key files (default: the folder of evidence.signingKey)')
    .option('--origin <origin>', 'log origin the key id is computed for (default: evidence.origin)')
    .option('--force', 'replace an existing key pair')
    .option('--config <file>', 'nicguard.yaml to read')
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard evidence keygen\n  nicguard evidence keygen --out-dir /etc/nicguard/keys --json',
    )
    .action(
      run((opts: { outDir?: string; origin?: string; force?: boolean; config?: string }) =>
        keygenCommand(opts),
      ),
    );
}
