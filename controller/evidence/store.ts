/**
 * The evidence log: an append-only SQLite store whose records are the leaves of an RFC 9162 Merkle tree,
 * with signed checkpoints over the tree. Typed projection tables make reports cheap; the leaves remain the
 * only thing the signatures cover, and verify() checks the projections against them.
 *
 * Durability is part of the evidence claim: an acknowledged append must survive power loss, so every
 * open forces WAL with synchronous=FULL and reads both back, and writes are grouped into transactions to
 * pay one fsync per batch rather than per record.
 */
import Database from 'better-sqlite3';
import { KeyObject } from 'node:crypto';
import {
  DecodedLeaf,
  RecordKind,
  canonicalJson,
  FixedBodyPlan,
  decodeLeaf,
  encodeRecordLeafWithFixedPlan,
  encodeRecordLeafWithHashPrefix,
  fixBodyMembers,
  bodyMembers,
  writeLeafWithFixedValues,
  isRecordKind,
} from './canonical';
import { checkOrigin, loadPrivateKey, loadPublicKey, openCheckpoint, signCheckpoint } from './checkpoint';
import { EvidenceError, fail } from './errors';
import {
  HASH_SIZE,
  MerkleFrontier,
  NodeReader,
  consistencyProblem,
  consistencyProof,
  emptyRoot,
  hashChildren,
  hashLeaf,
  hashPrefixedLeaf,
  inclusionProof,
  rangeRoot,
  verifyInclusion,
} from './merkle';
import {
  Counter,
  CounterDelta,
  CounterSampleRecord,
  CounterState,
  EvidenceRecord,
  counterDelta,
  counterKey,
  unknownField,
  validateRecord,
} from './records';

type DB = Database.Database;

const NO_EXTRA = Object.freeze({});
type Statement = Database.Statement<unknown[], unknown>;

/**
 * Rows per multi-row INSERT. Each statement execution has a fixed cost in better-sqlite3 and SQLite that
 * dwarfs binding a few more values, so batches are written CHUNK rows per statement. CHUNK is a power of
 * two so that the remainder of a batch takes one statement per set bit of its row count.
 */
const CHUNK = 32;

/**
 * Bind values of one table's rows in a batch, flushed CHUNK rows at a time. The values go into one array
 * of exactly CHUNK rows that is overwritten in place: emptying an array with `length = 0` gives up its
 * storage, and regrowing it by push for every chunk was a steady source of garbage. They are passed as
 * arguments rather than as one array: better-sqlite3 reads an array's elements one engine call each, and
 * that was ~8% of the CPU time of ingesting counter samples.
 */
class RowBuffer {
  private readonly params: unknown[];
  private at = 0;

  private readonly many: Statement;
  private readonly width: number;

  constructor(private readonly insert: InsertStatements) {
    this.width = insert.width;
    this.many = insert.forRows(CHUNK);
    this.params = new Array<unknown>(CHUNK * this.width).fill(null);
  }

  /** Adds the next bind value of the current row, in column order; endRow() once the row is complete. */
  add(v: unknown): void {
    this.params[this.at++] = v;
  }

  endRow(): void {
    if (this.at < this.params.length) return;
    this.many.run(...this.params);
    this.at = 0;
  }

  /** Writes the rows short of a chunk: a batch of 2000 samples left 16 sample rows and some 29 node rows. */
  finish(): void {
    let i = 0;
    for (let rows = CHUNK / 2; rows >= 1; rows /= 2) {
      const end = i + rows * this.width;
      if (end > this.at) continue;
      this.insert.forRows(rows).run(...this.params.slice(i, end));
      i = end;
    }
    this.at = 0;
  }
}

/** A table's multi-row INSERT statements by row count, prepared on first use. */
class InsertStatements {
  readonly width: number;
  private readonly head: string;
  private readonly row: string;
  private readonly byRows = new Map<number, Statement>();

  constructor(
    private readonly db: DB,
    table: string,
    columns: readonly string[],
  ) {
    this.width = columns.length;
    this.head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    this.row = `(${columns.map(() => '?').join(', ')})`;
  }

  forRows(rows: number): Statement {
    let st = this.byRows.get(rows);
    if (st === undefined) {
      st = this.db.prepare(this.head + Array<string>(rows).fill(this.row).join(', '));
      this.byRows.set(rows, st);
    }
    return st;
  }
}

/** Marks the file as a nicguard evidence log ("NGEV") so an unrelated database is never migrated. */
const APPLICATION_ID = 0x4e474556;

/**
 * Interior nodes are persisted only on every 4th level: one row per 16 leaves keeps ingestion close to a
 * plain insert, and any other level is at most 8 sibling reads and 7 hashes away, so a proof at 1M leaves
 * is about 20 small range reads.
 */
export const NODE_STRIDE = 4;

/** Members of a counter sample's leaf that its series fixes; the rest are COUNTER_VALUE_MEMBERS. */
const SERIES_MEMBERS = ['device', 'table', 'ruleId', 'ruleName', 'agent', 'policyVersion'];

/** Where writeCounter puts each member a sample supplies, by its index in the leaf body. */
const COUNTER_VALUE_AT = ((): Record<
  'packets' | 'bytes' | 'deltaPackets' | 'deltaBytes' | 'reset' | 'epoch',
  number
> => {
  const members = bodyMembers('counter_sample');
  const at = {
    packets: members.indexOf('packets'),
    bytes: members.indexOf('bytes'),
    deltaPackets: members.indexOf('deltaPackets'),
    deltaBytes: members.indexOf('deltaBytes'),
    reset: members.indexOf('reset'),
    epoch: members.indexOf('epoch'),
  };
  // A member in neither list would be left out of every leaf written this way.
  const covered = new Set([...SERIES_MEMBERS, ...Object.keys(at)]);
  if (Object.values(at).some((i) => i < 0) || members.some((m) => !covered.has(m)))
    throw new Error(`counter sample members changed: ${members.join(', ')}`);
  return at;
})();

export const PROOF_FORMAT = 'nicguard-inclusion-proof/1';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    leaf BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
  );
  -- Counter samples dominate volume and have their own time column; indexing them here would tax every
  -- ingest, so only the sparse kinds are indexed for time-range queries.
  CREATE INDEX records_kind_time ON records (kind, time_ms) WHERE kind <> 'counter_sample';
  CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) WITHOUT ROWID;
  CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    created_ms INTEGER NOT NULL
  );
  CREATE TABLE policy_versions (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    policy_hash TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    signature TEXT,
    comment TEXT
  );
  CREATE INDEX policy_versions_hash ON policy_versions (policy_hash);
  CREATE TABLE pushes (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    device TEXT NOT NULL,
    pipeline_cookie TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    entries_written INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    duration_us INTEGER NOT NULL,
    phases_us TEXT
  );
  CREATE TABLE counter_series (
    series_id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    tbl TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT,
    agent TEXT,
    policy_version TEXT NOT NULL
  );
  CREATE INDEX counter_series_key ON counter_series (device, tbl, rule_id, policy_version);
  CREATE TABLE counter_samples (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    packets INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    delta_packets INTEGER NOT NULL,
    delta_bytes INTEGER NOT NULL,
    reset INTEGER NOT NULL,
    epoch TEXT
  );
  CREATE TABLE quota_windows (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    device TEXT NOT NULL,
    slot INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    agent TEXT,
    policy_version TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    bytes_used INTEGER NOT NULL,
    quota_bytes INTEGER,
    drops INTEGER NOT NULL,
    exhausted INTEGER NOT NULL
  );
  CREATE TABLE denials (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    device TEXT NOT NULL,
    agent TEXT NOT NULL,
    src_ip TEXT NOT NULL,
    dst_ip TEXT NOT NULL,
    src_port INTEGER NOT NULL,
    dst_port INTEGER NOT NULL,
    protocol INTEGER NOT NULL,
    rule_id TEXT,
    reason TEXT NOT NULL,
    audit INTEGER NOT NULL,
    policy_version TEXT
  );
  CREATE INDEX denials_agent_time ON denials (agent, time_ms);
  CREATE TABLE device_events (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    device TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT
  );
  `,
  // From this version on a counter sample is one counter_samples row holding its leaf hash, with no
  // records row: its leaf is rebuilt from that row and its series. Samples written before keep their
  // records row and stored leaf (leaf_hash NULL here). The version step also keeps older code, which would
  // take the missing records rows for lost records, from opening the log.
  `ALTER TABLE counter_samples ADD COLUMN leaf_hash BLOB;`,
];

/**
 * The counter_samples columns (read as a raw row) a counter sample's leaf is rebuilt from, then its
 * series, then its leaf hash (NULL for a sample that has a records row with its leaf).
 */
const COUNTER_LEAF_COLUMNS = `c.seq, c.time_ms, c.series_id, c.packets, c.bytes, c.delta_packets, c.delta_bytes,
  c.reset, c.epoch, s.device, s.tbl, s.rule_id, s.rule_name, s.agent, s.policy_version, c.leaf_hash`;
const COUNTER_LEAF_FROM = 'counter_samples c LEFT JOIN counter_series s ON s.series_id = c.series_id';

/** Bind form of a projected value: booleans as 0/1, absent as NULL, nested values as canonical JSON. */
function sqlValue(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'object') return canonicalJson(v);
  return v;
}

/** Comparable text of a value, so leaf fields (wide ints as strings) match SQLite integers. */
function comparable(v: unknown): string {
  if (v === null || v === undefined) return '\u0000null';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'object') return canonicalJson(v);
  return String(v);
}

interface Projection {
  table: string;
  /** Columns after seq and time_ms, in the order values() yields them. */
  columns: string[];
  /** `d` holds fields the log derives (counter deltas); for a decoded leaf both are the body. */
  values(b: Record<string, unknown>, d: Record<string, unknown>): unknown[];
}

const PROJECTIONS: Record<RecordKind, Projection> = {
  policy_version: {
    table: 'policy_versions',
    columns: ['policy_hash', 'author', 'text', 'signature', 'comment'],
    values: (b) => [b['policyHash'], b['author'], b['text'], b['signature'], b['comment']],
  },
  push: {
    table: 'pushes',
    columns: [
      'pipeline_cookie',
      'device',
      'policy_version',
      'entries_written',
      'outcome',
      'error',
      'duration_us',
      'phases_us',
    ],
    values: (b) => [
      String(b['pipelineCookie']),
      b['device'],
      b['policyVersion'],
      b['entriesWritten'],
      b['outcome'],
      b['error'],
      b['durationUs'],
      b['phasesUs'],
    ],
  },
  counter_sample: {
    table: 'counter_samples',
    // The first six live in counter_series; see seriesId().
    columns: [
      'device',
      'tbl',
      'rule_id',
      'rule_name',
      'agent',
      'policy_version',
      'packets',
      'bytes',
      'delta_packets',
      'delta_bytes',
      'reset',
      'epoch',
    ],
    values: (b, d) => [
      b['device'],
      b['table'],
      b['ruleId'],
      b['ruleName'],
      b['agent'],
      b['policyVersion'],
      b['packets'],
      b['bytes'],
      d['deltaPackets'],
      d['deltaBytes'],
      d['reset'],
      b['epoch'],
    ],
  },
  quota_window: {
    table: 'quota_windows',
    columns: [
      'device',
      'slot',
      'rule_id',
      'agent',
      'policy_version',
      'window_start',
      'window_end',
      'bytes_used',
      'quota_bytes',
      'drops',
      'exhausted',
    ],
    values: (b) => [
      b['device'],
      b['slot'],
      b['ruleId'],
      b['agent'],
      b['policyVersion'],
      b['windowStart'],
      b['windowEnd'],
      b['bytesUsed'],
      b['quotaBytes'],
      b['drops'],
      b['exhausted'],
    ],
  },
  denial: {
    table: 'denials',
    columns: [
      'device',
      'agent',
      'src_ip',
      'dst_ip',
      'src_port',
      'dst_port',
      'protocol',
      'rule_id',
      'reason',
      'audit',
      'policy_version',
    ],
    values: (b) => [
      b['device'],
      b['agent'],
      b['srcIp'],
      b['dstIp'],
      b['srcPort'],
      b['dstPort'],
      b['protocol'],
      b['ruleId'],
      b['reason'],
      b['audit'],
      b['policyVersion'],
    ],
  },
  device_event: {
    table: 'device_events',
    columns: ['device', 'event', 'detail'],
    values: (b) => [b['device'], b['event'], b['detail']],
  },
};

export interface SignerOptions {
  /** Log identity; also the signed-note key name, so no whitespace or '+'. */
  origin: string;
  /** Ed25519 private key as PKCS#8 PEM or a KeyObject. */
  privateKey: string | KeyObject;
}

export interface EvidenceLogOptions {
  signer?: SignerOptions;
  /** Group commit for appendDurable(): commit after this many records or this many ms, whichever first. */
  groupCommit?: { maxRecords?: number; maxDelayMs?: number };
}

export interface AppendResult {
  seq: number;
  leafHash: Buffer;
}

export interface SignedCheckpoint {
  origin: string;
  treeSize: number;
  /** Hex root hash. */
  rootHash: string;
  /** The signed note exactly as stored and as an auditor receives it. */
  note: string;
}

export interface InclusionProofBundle {
  format: typeof PROOF_FORMAT;
  origin: string;
  leafIndex: number;
  treeSize: number;
  /** Hex leaf hash. */
  leafHash: string;
  /** Base64 canonical leaf bytes; optional so a bundle can prove a hash without disclosing the record. */
  leaf?: string;
  /** Hex hashes, deepest first (RFC 9162 §2.1.3.1 order). */
  proof: string[];
  checkpoint: string;
}

export interface ConsistencyProofBundle {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
}

export interface StoredRecord {
  seq: number;
  kind: RecordKind;
  time: number;
  /** The leaf body as signed; integers wider than 2^53 are decimal strings. */
  body: Record<string, unknown>;
}

export type VerifyProblemCode =
  | 'MISSING_RECORD'
  | 'BAD_LEAF'
  | 'SEQ_MISMATCH'
  | 'KIND_MISMATCH'
  | 'TIME_MISMATCH'
  | 'LEAF_HASH_MISMATCH'
  | 'PROJECTION_MISMATCH'
  | 'DELTA_MISMATCH'
  | 'NODE_MISMATCH'
  | 'CHECKPOINT_ROOT_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'INCONSISTENT_CHECKPOINTS'
  | 'CORRUPT';

export interface VerifyProblem {
  code: VerifyProblemCode;
  /** The first record found wrong, when the problem can be pinned to one. */
  seq?: number;
  kind?: string;
  detail: string;
}

export type VerifyResult =
  | {
      ok: true;
      records: number;
      checkpoints: number;
      treeSize: number;
      rootHash: string;
      signaturesChecked: boolean;
    }
  | { ok: false; problem: VerifyProblem };

export interface CounterTotal {
  agent: string | null;
  ruleId: string;
  policyVersion: string;
  packets: bigint;
  bytes: bigint;
  samples: number;
  resets: number;
}

export interface DenialSummary {
  agent: string;
  denials: number;
  audited: number;
  firstTime: number;
  lastTime: number;
  /** Denials come from device digests, which may be dropped: counts are lower bounds. */
  bestEffort: true;
}

export interface QuotaHit {
  seq: number;
  device: string;
  slot: number;
  ruleId: string;
  agent: string | null;
  policyVersion: string;
  windowStart: number;
  windowEnd: number;
  bytesUsed: bigint;
  quotaBytes: bigint | null;
  drops: bigint;
  exhausted: boolean;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function checkRange(fromMs: number, toMs: number): void {
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || toMs < fromMs) {
    fail('BAD_ARGUMENT', 'time range must be integer milliseconds with from <= to');
  }
}

/** Opens with the durability settings the evidence claim relies on, and proves they took effect. */
function openDurable(path: string): DB {
  const db = new Database(path);
  try {
    const mode = String(db.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
    if (mode !== 'wal') fail('DURABILITY', `journal_mode is ${mode}, not wal`);
    // A WAL database reopens at synchronous=NORMAL in this build, which may lose the last commits on
    // power loss; FULL must therefore be set on every open, not once at creation.
    db.pragma('synchronous = FULL');
    const sync = Number(db.pragma('synchronous', { simple: true }));
    if (sync !== 2) fail('DURABILITY', `synchronous is ${sync}, not FULL (2)`);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function migrate(db: DB): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  const appId = Number(db.pragma('application_id', { simple: true }));
  if (version > MIGRATIONS.length) fail('SCHEMA', `schema version ${version} is newer than this code`);
  if (appId !== APPLICATION_ID) {
    const tables = Number(db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get());
    if (appId !== 0 || version !== 0 || tables !== 0) fail('SCHEMA', 'database is not an evidence log');
  }
  if (version === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    db.pragma(`application_id = ${APPLICATION_ID}`);
  })();
}

type BatchRows = Record<'records' | 'nodes' | RecordKind, RowBuffer>;

/** A counter_series row as appends use it. */
interface Series {
  id: number;
  device: string;
  table: string;
  ruleId: string;
  ruleName: string | undefined;
  agent: string | undefined;
  policyVersion: string;
  /** Delta state of the series' (device, table, ruleId), shared with other series of that rule. */
  cell: CounterCell;
  /** The counter sample body plan with this series' six members fixed. */
  plan: FixedBodyPlan;
}

/**
 * The delta state of one (device, table, ruleId). A batch stages its latest reading here rather than in a
 * map of its own, so a sample costs no key lookups and, after the first sample of its rule in a batch, no
 * new state object: the staged reading is only read while `batch` is the open batch's number, and becomes
 * `committed` once that batch has committed.
 */
interface CounterCell {
  committed: CounterState | undefined;
  staged: CounterState | undefined;
  batch: number;
}

/** What the records of one batch write into, committed together or not at all. */
interface BatchState {
  frontier: MerkleFrontier;
  /** Counter states of this batch, merged into the log's once it has committed. */
  /** Number of this batch, which marks the counter cells it has staged a reading in. */
  number: number;
  /** Counter cells this batch staged a reading in, committed once the batch has. */
  staged: CounterCell[];
  rows: BatchRows;
  /** Receives each completed Merkle node; queues the persisted levels. */
  onNode: (level: number, index: number, hash: Buffer) => void;
}

interface Pending {
  record: EvidenceRecord;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export class EvidenceLog {
  private readonly db: DB;
  private readonly st: Record<string, Statement>;
  private readonly inserts: Record<'records' | 'nodes' | RecordKind, InsertStatements>;
  private readonly reader: NodeReader;
  private frontier: MerkleFrontier;
  private readonly signer: { origin: string; key: KeyObject } | undefined;
  private readonly maxRecords: number;
  private readonly maxDelayMs: number;
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Series seen by appends, by rule id (a rule is in few series), for writeCounter. */
  private seriesByRule = new Map<string, Series[]>();
  /** Where writeCounter encodes a leaf that is hashed and dropped; a larger leaf gets its own Buffer. */
  private readonly leafScratch = Buffer.allocUnsafe(4096);
  /** A counter sample's own leaf member values, at COUNTER_VALUE_AT. */
  private readonly counterValues = new Array<unknown>(bodyMembers('counter_sample').length).fill(undefined);
  /** Views of leafScratch by length, so hashing a leaf written there allocates no view. */
  private readonly leafViews: (Buffer | undefined)[] = new Array<Buffer | undefined>(4097).fill(undefined);
  private counterStates: Map<string, CounterState> | undefined;
  /** Counter delta state by counterKey, made on first use from the stored samples. */
  private counterCells = new Map<string, CounterCell>();
  private batchCount = 0;
  private closed = false;

  private constructor(db: DB, options: EvidenceLogOptions) {
    this.db = db;
    this.maxRecords = options.groupCommit?.maxRecords ?? 1000;
    this.maxDelayMs = options.groupCommit?.maxDelayMs ?? 5;
    if (!(this.maxRecords >= 1) || !(this.maxDelayMs >= 0)) fail('BAD_ARGUMENT', 'bad group commit limits');
    const p = (sql: string): Statement => db.prepare(sql);
    this.st = {
      // A leaf hash is in records, or for a counter sample appended since schema version 2, in
      // counter_samples; the leaf_hash filter keeps older samples, which have both rows, from counting twice.
      leafHash: p(
        `SELECT leaf_hash FROM records WHERE seq = @seq
         UNION ALL SELECT leaf_hash FROM counter_samples WHERE seq = @seq AND leaf_hash IS NOT NULL`,
      ).pluck(),
      leafHashRange: p(
        `SELECT leaf_hash FROM (
           SELECT seq, leaf_hash FROM records WHERE seq >= @lo AND seq < @hi
           UNION ALL SELECT seq, leaf_hash FROM counter_samples WHERE seq >= @lo AND seq < @hi AND leaf_hash IS NOT NULL
         ) ORDER BY seq`,
      ).pluck(),
      node: p('SELECT hash FROM nodes WHERE level = ? AND idx = ?').pluck(),
      nodeRange: p('SELECT hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx').pluck(),
      size: p(
        `SELECT max(coalesce((SELECT max(seq) FROM records), -1),
                    coalesce((SELECT max(seq) FROM counter_samples), -1)) + 1`,
      ).pluck(),
      record: p('SELECT seq, kind, time_ms, leaf, leaf_hash FROM records WHERE seq = ?'),
      allRecords: p('SELECT seq, kind, time_ms, leaf, leaf_hash FROM records ORDER BY seq'),
      counterLeafRow: p(
        `SELECT ${COUNTER_LEAF_COLUMNS} FROM ${COUNTER_LEAF_FROM} WHERE c.seq = ? AND c.leaf_hash IS NOT NULL`,
      )
        .safeIntegers(true)
        .raw(),
      allCounterLeafRows: p(
        `SELECT ${COUNTER_LEAF_COLUMNS} FROM ${COUNTER_LEAF_FROM} WHERE c.leaf_hash IS NOT NULL ORDER BY c.seq`,
      )
        .safeIntegers(true)
        .raw(),
      findSeries: p(
        `SELECT series_id FROM counter_series WHERE device = ? AND tbl = ? AND rule_id = ? AND rule_name IS ?
         AND agent IS ? AND policy_version = ?`,
      ).pluck(),
      insertSeries: p(
        'INSERT INTO counter_series (device, tbl, rule_id, rule_name, agent, policy_version) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertCheckpoint: p(
        'INSERT OR IGNORE INTO checkpoints (tree_size, root, note, created_ms) VALUES (?, ?, ?, ?)',
      ),
      latestCheckpoint: p('SELECT tree_size, root, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1'),
      allCheckpoints: p('SELECT tree_size, root, note FROM checkpoints ORDER BY tree_size'),
      getMeta: p('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: p('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    };
    const insert = (table: string, columns: readonly string[]): InsertStatements =>
      new InsertStatements(db, table, columns);
    const projection = (kind: RecordKind): InsertStatements => {
      const proj = PROJECTIONS[kind];
      const cols =
        kind === 'counter_sample' ? ['series_id', ...proj.columns.slice(6), 'leaf_hash'] : proj.columns;
      return insert(proj.table, ['seq', 'time_ms', ...cols]);
    };
    this.inserts = {
      records: insert('records', ['seq', 'kind', 'time_ms', 'leaf', 'leaf_hash']),
      nodes: insert('nodes', ['level', 'idx', 'hash']),
      policy_version: projection('policy_version'),
      push: projection('push'),
      counter_sample: projection('counter_sample'),
      quota_window: projection('quota_window'),
      denial: projection('denial'),
      device_event: projection('device_event'),
    };
    this.reader = { node: (level, index) => this.readNode(level, index) };
    if (options.signer) {
      checkOrigin(options.signer.origin);
      const key = loadPrivateKey(options.signer.privateKey);
      const stored = this.st.getMeta.get('origin') as string | undefined;
      if (stored !== undefined && stored !== options.signer.origin) {
        fail('BAD_ARGUMENT', `log origin is "${stored}", signer says "${options.signer.origin}"`);
      }
      this.st.setMeta.run('origin', options.signer.origin);
      this.st.setMeta.run(
        'public_key',
        loadPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
      );
      this.signer = { origin: options.signer.origin, key };
    }
    this.frontier = MerkleFrontier.fromReader(this.reader, Number(this.st.size.get()));
  }

  /** Opens (creating if needed) an evidence log; throws DURABILITY if WAL + synchronous=FULL cannot be had. */
  static open(path: string, options: EvidenceLogOptions = {}): EvidenceLog {
    let db: DB | undefined;
    try {
      db = openDurable(path);
      migrate(db);
      return new EvidenceLog(db, options);
    } catch (e) {
      db?.close();
      throw asEvidenceError(e, path);
    }
  }

  /** Number of committed records, which is also the current tree size. */
  get size(): number {
    return this.frontier.size;
  }

  get origin(): string | undefined {
    return this.signer?.origin ?? (this.st.getMeta.get('origin') as string | undefined);
  }

  /** The live journal and sync settings, read back from SQLite. */
  durability(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  private assertOpen(): void {
    if (this.closed) fail('CLOSED', 'evidence log is closed');
  }

  /** Hash of a perfect subtree, from the stored stride levels (see NODE_STRIDE). */
  private readNode(level: number, index: number): Buffer {
    const base = level - (level % NODE_STRIDE);
    if (base === level) {
      const h = (level === 0 ? this.st.leafHash.get({ seq: index }) : this.st.node.get(level, index)) as
        Buffer | undefined;
      if (h === undefined || h.length !== HASH_SIZE) fail('CORRUPT', `node ${level}/${index} is missing`);
      return h;
    }
    const span = 2 ** (level - base);
    const first = index * span;
    let layer = (
      base === 0
        ? this.st.leafHashRange.all({ lo: first, hi: first + span })
        : this.st.nodeRange.all(base, first, first + span)
    ) as Buffer[];
    if (layer.length !== span) fail('CORRUPT', `nodes under ${level}/${index} are missing`);
    while (layer.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < layer.length; i += 2)
        next.push(hashChildren(layer[i] as Buffer, layer[i + 1] as Buffer));
      layer = next;
    }
    return layer[0] as Buffer;
  }

  private loadCounterStates(): Map<string, CounterState> {
    if (this.counterStates) return this.counterStates;
    const states = new Map<string, CounterState>();
    // Reading in seq order leaves the latest sample of each key in the map; one pass at first use.
    const rows = this.db
      .prepare(
        `SELECT s.device, s.tbl, s.rule_id, c.packets, c.bytes, c.epoch
         FROM counter_samples c JOIN counter_series s ON s.series_id = c.series_id ORDER BY c.seq`,
      )
      .safeIntegers(true)
      .raw()
      .iterate() as IterableIterator<[string, string, string, bigint, bigint, string | null]>;
    for (const [device, table, ruleId, packets, bytes, epoch] of rows) {
      states.set(counterKey(device, table, ruleId), {
        packets: packets <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(packets) : packets,
        bytes: bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : bytes,
        epoch: epoch ?? undefined,
      });
    }
    this.counterStates = states;
    return states;
  }

  /** The series of a sample: its counter_series row, found or added, with what appends need of it. */
  private series(r: CounterSampleRecord): Series {
    const known = this.seriesByRule.get(r.ruleId);
    if (known) {
      for (const s of known) {
        if (
          s.device === r.device &&
          s.table === r.table &&
          s.policyVersion === r.policyVersion &&
          s.agent === r.agent &&
          s.ruleName === r.ruleName
        )
          return s;
      }
    }
    // Encoding first: a name the leaf cannot hold is refused before a row is added for it.
    const plan = fixBodyMembers('counter_sample', {
      device: r.device,
      table: r.table,
      ruleId: r.ruleId,
      ruleName: r.ruleName,
      agent: r.agent,
      policyVersion: r.policyVersion,
    });
    const bind = [r.device, r.table, r.ruleId, r.ruleName ?? null, r.agent ?? null, r.policyVersion];
    let id = this.st.findSeries.get(...bind) as number | undefined;
    if (id === undefined) id = Number(this.st.insertSeries.run(...bind).lastInsertRowid);
    // Spelled out rather than spread: a spread-built object here made every lookup several times slower.
    const s: Series = {
      id,
      device: r.device,
      table: r.table,
      ruleId: r.ruleId,
      ruleName: r.ruleName,
      agent: r.agent,
      policyVersion: r.policyVersion,
      cell: this.counterCell(r),
      plan,
    };
    if (known) known.push(s);
    else this.seriesByRule.set(r.ruleId, [s]);
    return s;
  }

  private counterCell(r: CounterSampleRecord): CounterCell {
    const key = counterKey(r.device, r.table, r.ruleId);
    let cell = this.counterCells.get(key);
    if (cell === undefined) {
      // Any append since the states were read went through this cell, so the read state is current.
      cell = { committed: this.loadCounterStates().get(key), staged: undefined, batch: -1 };
      this.counterCells.set(key, cell);
    }
    return cell;
  }

  /**
   * Counter samples are most of the log, so they take their own path: the series supplies the six names
   * already encoded, the leaf is written into a reused buffer (it is hashed, not stored), and no
   * per-field projection mapping runs.
   */
  private writeCounter(record: CounterSampleRecord, seq: number, batch: BatchState): AppendResult {
    const series = this.series(record);
    const cell = series.cell;
    const staged = cell.batch === batch.number ? cell.staged : undefined;
    const delta = counterDelta(staged ?? cell.committed, record as CounterState);
    if (staged === undefined) {
      cell.staged = { packets: record.packets, bytes: record.bytes, epoch: record.epoch };
      cell.batch = batch.number;
      batch.staged.push(cell);
    } else {
      // Nothing else holds the staged reading: the delta above was its last use.
      staged.packets = record.packets;
      staged.bytes = record.bytes;
      staged.epoch = record.epoch;
    }
    const values = this.counterValues;
    values[COUNTER_VALUE_AT.packets] = record.packets;
    values[COUNTER_VALUE_AT.bytes] = record.bytes;
    values[COUNTER_VALUE_AT.deltaPackets] = delta.deltaPackets;
    values[COUNTER_VALUE_AT.deltaBytes] = delta.deltaBytes;
    values[COUNTER_VALUE_AT.reset] = delta.reset;
    values[COUNTER_VALUE_AT.epoch] = record.epoch;
    const end = writeLeafWithFixedValues(series.plan, seq, record.time, values, this.leafScratch);
    const leafHash = hashPrefixedLeaf(
      end >= 0
        ? (this.leafViews[end] ??= this.leafScratch.subarray(0, end))
        : encodeRecordLeafWithFixedPlan(series.plan, record, seq, delta),
    );
    const row = batch.rows.counter_sample;
    row.add(seq);
    row.add(record.time);
    row.add(series.id);
    row.add(record.packets);
    row.add(record.bytes);
    row.add(delta.deltaPackets);
    row.add(delta.deltaBytes);
    row.add(delta.reset ? 1 : 0);
    row.add(record.epoch ?? null);
    row.add(leafHash);
    row.endRow();
    batch.frontier.append(leafHash, batch.onNode, NODE_STRIDE);
    return { seq, leafHash };
  }

  private writeOne(record: EvidenceRecord, seq: number, batch: BatchState): AppendResult {
    if (record.kind === 'counter_sample') return this.writeCounter(record, seq, batch);
    const prefixed = encodeRecordLeafWithHashPrefix(record, seq, NO_EXTRA);
    const leafHash = hashPrefixedLeaf(prefixed);
    const { rows } = batch;
    rows.records.add(seq);
    rows.records.add(record.kind);
    rows.records.add(record.time);
    rows.records.add(prefixed.subarray(1));
    rows.records.add(leafHash);
    rows.records.endRow();
    const projection = rows[record.kind];
    projection.add(seq);
    projection.add(record.time);
    for (const v of PROJECTIONS[record.kind].values(record as unknown as Record<string, unknown>, NO_EXTRA))
      projection.add(sqlValue(v));
    projection.endRow();
    batch.frontier.append(leafHash, batch.onNode, NODE_STRIDE);
    return { seq, leafHash };
  }

  /** One transaction, one fsync; on failure nothing is written and in-memory state is left untouched. */
  private writeBatch(records: readonly EvidenceRecord[]): AppendResult[] {
    this.assertOpen();
    for (const r of records) validateRecord(r);
    if (records.length === 0) return [];
    const first = this.frontier.size;
    const results = new Array<AppendResult>(records.length);
    const rows = {} as BatchRows;
    for (const [table, st] of Object.entries(this.inserts))
      rows[table as keyof BatchRows] = new RowBuffer(st);
    const batch: BatchState = {
      frontier: this.frontier.clone(),
      number: ++this.batchCount,
      staged: [],
      rows,
      onNode: (level, index, hash) => {
        if (level % NODE_STRIDE !== 0) return;
        rows.nodes.add(level);
        rows.nodes.add(index);
        rows.nodes.add(hash);
        rows.nodes.endRow();
      },
    };
    try {
      this.db.transaction(() => {
        for (let i = 0; i < records.length; i++)
          results[i] = this.writeOne(records[i] as EvidenceRecord, first + i, batch);
        for (const b of Object.values(rows)) b.finish();
      })();
    } catch (e) {
      // Series ids handed out inside the rolled-back transaction no longer exist.
      this.seriesByRule.clear();
      throw e;
    }
    this.frontier = batch.frontier;
    for (const cell of batch.staged) cell.committed = cell.staged;
    return results;
  }

  /** Appends one record and returns once it is durable. Prefer appendBatch or appendDurable for volume. */
  append(record: EvidenceRecord): AppendResult {
    return this.appendBatch([record])[0] as AppendResult;
  }

  /** Appends records in one transaction, in order, and returns once all are durable. */
  appendBatch(records: readonly EvidenceRecord[]): AppendResult[] {
    // Records already queued by appendDurable were submitted first, so they get the lower seqs.
    this.flush();
    return this.writeBatch(records);
  }

  /**
   * Queues a record for group commit; the promise resolves only after the transaction holding it has
   * committed with synchronous=FULL. Invalid records are rejected at once and never delay others.
   */
  appendDurable(record: EvidenceRecord): Promise<AppendResult> {
    try {
      this.assertOpen();
      validateRecord(record);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (this.pending.length >= this.maxRecords) this.flush();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.maxDelayMs);
    });
  }

  /** Commits everything queued by appendDurable now; their promises settle in the next microtasks. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let results: AppendResult[];
    try {
      results = this.writeBatch(batch.map((p) => p.record));
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i] as AppendResult));
  }

  /** RFC 9162 §2.1.1 root of the first `size` records (default: all committed). */
  root(size = this.size): Buffer {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      fail('BAD_ARGUMENT', `no tree of size ${size}`);
    if (size === this.size) return this.frontier.root();
    return size === 0 ? emptyRoot() : rangeRoot(this.reader, 0, size);
  }

  /** Signs (origin, size, root) for everything committed, after committing anything still queued. */
  checkpoint(): SignedCheckpoint {
    this.assertOpen();
    this.flush();
    if (!this.signer) fail('NO_SIGNER', 'open the log with a signer to issue checkpoints');
    const size = this.size;
    const root = this.frontier.root();
    const note = signCheckpoint(this.signer.origin, size, root, this.signer.key);
    this.st.insertCheckpoint.run(size, root, note, Date.now());
    const stored = this.latestCheckpoint() as SignedCheckpoint;
    return stored;
  }

  private toCheckpoint(row: { tree_size: number; root: Buffer; note: string }): SignedCheckpoint {
    const origin = row.note.slice(0, row.note.indexOf('\n'));
    return { origin, treeSize: row.tree_size, rootHash: hex(row.root), note: row.note };
  }

  latestCheckpoint(): SignedCheckpoint | undefined {
    const row = this.st.latestCheckpoint.get() as
      { tree_size: number; root: Buffer; note: string } | undefined;
    return row && this.toCheckpoint(row);
  }

  checkpoints(): SignedCheckpoint[] {
    return (this.st.allCheckpoints.all() as { tree_size: number; root: Buffer; note: string }[]).map((r) =>
      this.toCheckpoint(r),
    );
  }

  /** Proof that record `seq` is in the tree of the latest checkpoint; checkpoint() first if it is newer. */
  inclusionProof(seq: number, options: { includeLeaf?: boolean } = {}): InclusionProofBundle {
    this.assertOpen();
    const cp = this.latestCheckpoint();
    if (!cp) fail('NOT_COVERED', 'no checkpoint yet');
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= cp.treeSize) {
      fail('NOT_COVERED', `record ${seq} is not covered by the latest checkpoint (size ${cp.treeSize})`);
    }
    const found = this.stored(seq);
    if (!found) fail('CORRUPT', `record ${seq} is missing`);
    const proof = inclusionProof(this.reader, seq, cp.treeSize);
    const bundle: InclusionProofBundle = {
      format: PROOF_FORMAT,
      origin: cp.origin,
      leafIndex: seq,
      treeSize: cp.treeSize,
      leafHash: hex(found.leafHash),
      proof: proof.map(hex),
      checkpoint: cp.note,
    };
    if (options.includeLeaf !== false) bundle.leaf = found.leaf().toString('base64');
    return bundle;
  }

  /** RFC 9162 §2.1.4 proof that the tree of size `to` extends the tree of size `from`. */
  consistencyProof(from: number, to: number): ConsistencyProofBundle {
    this.assertOpen();
    if (!Number.isSafeInteger(to) || to > this.size) fail('BAD_ARGUMENT', `no tree of size ${to}`);
    const proof = consistencyProof(this.reader, from, to);
    return {
      size1: from,
      size2: to,
      root1: hex(this.root(from)),
      root2: hex(this.root(to)),
      proof: proof.map(hex),
    };
  }

  /** The record at `seq`, decoded from its signed leaf bytes. */
  getRecord(seq: number): StoredRecord | undefined {
    const leaf = this.leaf(seq);
    return leaf && this.toStored(decodeLeaf(leaf));
  }

  /** The leaf bytes of record `seq`, which the tree commits to: stored, or rebuilt for a counter sample. */
  leaf(seq: number): Buffer | undefined {
    this.assertOpen();
    return this.stored(seq)?.leaf();
  }

  /** Record `seq` as stored: a records row, or a counter_samples row its leaf is rebuilt from. */
  private stored(seq: number): { leafHash: Buffer; leaf: () => Buffer } | undefined {
    const row = this.st.record.get(seq) as RecordRow | undefined;
    if (row) return { leafHash: row.leaf_hash, leaf: () => row.leaf };
    const counter = this.st.counterLeafRow.get(seq) as unknown[] | undefined;
    if (!counter) return undefined;
    return { leafHash: counter[15] as Buffer, leaf: () => this.rebuiltLeaf(seq, counter) };
  }

  /** The leaf of counter sample `seq` from its COUNTER_LEAF_COLUMNS row; CORRUPT if it cannot be had. */
  private rebuiltLeaf(seq: number, row: readonly unknown[]): Buffer {
    const rebuilt = rebuildCounter(seq, row.slice(0, 9), row.slice(9, 15));
    if (!rebuilt) fail('CORRUPT', `counter sample ${seq}: its row cannot be encoded as a leaf`);
    return rebuilt.prefixed.subarray(1);
  }

  private toStored(d: DecodedLeaf): StoredRecord {
    return { seq: d.seq, kind: d.kind, time: d.timeMs, body: d.body };
  }

  /** Records of one kind with from <= time < to, oldest first, decoded from their leaves. */
  recordsByKind(kind: RecordKind, fromMs: number, toMs: number, limit = 10000): StoredRecord[] {
    if (!isRecordKind(kind)) fail('BAD_ARGUMENT', `unknown kind ${String(kind)}`);
    checkRange(fromMs, toMs);
    if (kind === 'counter_sample') {
      const rows = this.db
        .prepare(
          `SELECT r.leaf, ${COUNTER_LEAF_COLUMNS} FROM ${COUNTER_LEAF_FROM} LEFT JOIN records r ON r.seq = c.seq
           WHERE c.time_ms >= ? AND c.time_ms < ? ORDER BY c.seq LIMIT ?`,
        )
        .safeIntegers(true)
        .raw()
        .all(fromMs, toMs, limit) as [Buffer | null, ...unknown[]][];
      return rows.map(([leaf, ...row]) => {
        const bytes = leaf ?? this.rebuiltLeaf(Number(row[0]), row);
        return this.toStored(decodeLeaf(bytes));
      });
    }
    const sql = `SELECT leaf FROM records WHERE kind = ? AND kind <> 'counter_sample' AND time_ms >= ? AND time_ms < ?
      ORDER BY seq LIMIT ?`;
    return (this.db.prepare(sql).pluck().all(kind, fromMs, toMs, limit) as Buffer[]).map((leaf) =>
      this.toStored(decodeLeaf(leaf)),
    );
  }

  /**
   * Traffic per (agent, rule, policy version) in [from, to): sums of the per-sample deltas, so counter
   * resets never produce negative or double-counted traffic. A delta is attributed to the time of the
   * sample that observed it.
   */
  counterTotals(fromMs: number, toMs: number): CounterTotal[] {
    checkRange(fromMs, toMs);
    const from = `FROM counter_samples c JOIN counter_series s ON s.series_id = c.series_id
      WHERE c.time_ms >= ? AND c.time_ms < ?`;
    type Row = [string | null, string, string, bigint, bigint, bigint, bigint];
    let rows: Row[];
    try {
      rows = this.db
        .prepare(
          `SELECT s.agent, s.rule_id, s.policy_version, sum(c.delta_packets), sum(c.delta_bytes), count(*),
           sum(c.reset) ${from} GROUP BY s.agent, s.rule_id, s.policy_version`,
        )
        .safeIntegers(true)
        .raw()
        .all(fromMs, toMs) as Row[];
    } catch (e) {
      // SQLite sums are int64 and throw on overflow; exact totals beyond that are summed here instead.
      if (!(e instanceof Error) || !/integer overflow/.test(e.message)) throw e;
      const acc = new Map<string, Row>();
      const it = this.db
        .prepare(
          `SELECT s.agent, s.rule_id, s.policy_version, c.delta_packets, c.delta_bytes, c.reset ${from}`,
        )
        .safeIntegers(true)
        .raw()
        .iterate(fromMs, toMs) as IterableIterator<[string | null, string, string, bigint, bigint, bigint]>;
      for (const [agent, rule, pv, dp, db, reset] of it) {
        const key = JSON.stringify([agent, rule, pv]);
        const row = acc.get(key) ?? [agent, rule, pv, 0n, 0n, 0n, 0n];
        row[3] += dp;
        row[4] += db;
        row[5] += 1n;
        row[6] += reset;
        acc.set(key, row);
      }
      rows = [...acc.values()];
    }
    const order = (r: Row): string => JSON.stringify([r[0] ?? '', r[1], r[2]]);
    rows.sort((x, y) => (order(x) < order(y) ? -1 : order(x) > order(y) ? 1 : 0));
    return rows.map(([agent, ruleId, policyVersion, packets, bytes, samples, resets]) => ({
      agent,
      ruleId,
      policyVersion,
      packets,
      bytes,
      samples: Number(samples),
      resets: Number(resets),
    }));
  }

  denialsPerAgent(fromMs: number, toMs: number): DenialSummary[] {
    checkRange(fromMs, toMs);
    const rows = this.db
      .prepare(
        `SELECT agent, count(*), sum(audit), min(time_ms), max(time_ms) FROM denials
         WHERE time_ms >= ? AND time_ms < ? GROUP BY agent ORDER BY agent`,
      )
      .raw()
      .all(fromMs, toMs) as [string, number, number, number, number][];
    return rows.map(([agent, denials, audited, firstTime, lastTime]) => ({
      agent,
      denials,
      audited,
      firstTime,
      lastTime,
      bestEffort: true as const,
    }));
  }

  /** Quota windows overlapping [from, to) that ran out or dropped traffic. */
  quotaHits(fromMs: number, toMs: number): QuotaHit[] {
    checkRange(fromMs, toMs);
    const rows = this.db
      .prepare(
        `SELECT seq, device, slot, rule_id, agent, policy_version, window_start, window_end, bytes_used,
                quota_bytes, drops, exhausted
         FROM quota_windows WHERE window_end > ? AND window_start < ? AND (exhausted = 1 OR drops > 0)
         ORDER BY window_start, seq`,
      )
      .safeIntegers(true)
      .raw()
      .all(fromMs, toMs) as [
      bigint,
      string,
      bigint,
      string,
      string | null,
      string,
      bigint,
      bigint,
      bigint,
      bigint | null,
      bigint,
      bigint,
    ][];
    return rows.map((r) => ({
      seq: Number(r[0]),
      device: r[1],
      slot: Number(r[2]),
      ruleId: r[3],
      agent: r[4],
      policyVersion: r[5],
      windowStart: Number(r[6]),
      windowEnd: Number(r[7]),
      bytesUsed: r[8],
      quotaBytes: r[9],
      drops: r[10],
      exhausted: r[11] === 1n,
    }));
  }

  /**
   * Streams every record as one JSON line (seq, kind, time, leafHash, base64 leaf, body), then every
   * checkpoint. The body is the canonical JSON from the leaf, embedded verbatim. Returns lines written.
   */
  exportJsonl(writeLine: (line: string) => void): number {
    this.assertOpen();
    this.flush();
    let lines = 0;
    // Counter samples stored as one counter_samples row are a second seq-ordered stream, merged in.
    const rows = this.st.allRecords.iterate() as IterableIterator<RecordRow>;
    const counterRows = this.st.allCounterLeafRows.iterate() as IterableIterator<unknown[]>;
    try {
      let r = rows.next();
      let c = counterRows.next();
      while (!r.done || !c.done) {
        let seq: number;
        let kind: string;
        let time: number;
        let leafHash: Buffer;
        let leaf: Buffer;
        if (!c.done && (r.done || Number(c.value[0]) < r.value.seq)) {
          const row = c.value;
          seq = Number(row[0]);
          kind = 'counter_sample';
          time = Number(row[1]);
          leafHash = row[15] as Buffer;
          leaf = this.rebuiltLeaf(seq, row);
          c = counterRows.next();
        } else {
          const row = r.value as RecordRow;
          ({ seq, kind, time_ms: time, leaf_hash: leafHash, leaf } = row);
          r = rows.next();
        }
        const body = leaf.subarray(18).toString('utf8');
        writeLine(
          `{"type":"record","seq":${seq},"kind":${JSON.stringify(kind)},"time":${time},` +
            `"leafHash":"${hex(leafHash)}","leaf":"${leaf.toString('base64')}","body":${body}}`,
        );
        lines++;
      }
    } finally {
      rows.return?.();
      counterRows.return?.();
    }
    for (const cp of this.checkpoints()) {
      writeLine(
        JSON.stringify({ type: 'checkpoint', treeSize: cp.treeSize, rootHash: cp.rootHash, note: cp.note }),
      );
      lines++;
    }
    return lines;
  }

  /**
   * Full audit of the database: every leaf re-hashed from its stored bytes and decoded, header fields and
   * projections compared with it, counter deltas replayed, the tree rebuilt and compared with stored nodes,
   * every checkpoint's signature checked against the pinned key and its root against the rebuilt tree, and
   * consecutive checkpoints proven consistent. Stops at the first problem, naming the record.
   */
  verify(options: { publicKey?: string | KeyObject } = {}): VerifyResult {
    try {
      return this.verifyUnchecked(options);
    } catch (e) {
      // A damaged file (torn by power loss, truncated) surfaces as SQLite or decoding errors deep in
      // the walk: it is a verification failure, said as one, not a crash.
      if (e instanceof EvidenceError && e.code !== 'CORRUPT') throw e;
      return { ok: false, problem: { code: 'CORRUPT', detail: (e as Error).message } };
    }
  }

  private verifyUnchecked(options: { publicKey?: string | KeyObject }): VerifyResult {
    this.assertOpen();
    this.flush();
    const bad = (code: VerifyProblemCode, detail: string, seq?: number, kind?: string): VerifyResult => ({
      ok: false,
      problem: {
        code,
        detail,
        ...(seq === undefined ? {} : { seq }),
        ...(kind === undefined ? {} : { kind }),
      },
    });
    const origin = this.origin;
    const pinned =
      options.publicKey ?? this.signer?.key ?? (this.st.getMeta.get('public_key') as string | undefined);
    const publicKey = pinned === undefined ? undefined : loadPublicKey(pinned);
    const cps = this.st.allCheckpoints.all() as { tree_size: number; root: Buffer; note: string }[];
    for (const cp of cps) {
      if (publicKey === undefined || origin === undefined) break;
      try {
        const opened = openCheckpoint(cp.note, publicKey, origin);
        if (opened.treeSize !== cp.tree_size || !opened.root.equals(cp.root)) {
          return bad(
            'BAD_SIGNATURE',
            `checkpoint ${cp.tree_size}: stored size/root differ from the signed note`,
          );
        }
      } catch (e) {
        if (e instanceof EvidenceError)
          return bad('BAD_SIGNATURE', `checkpoint ${cp.tree_size}: ${e.message}`);
        throw e;
      }
    }
    // Projections are read as one seq-ordered stream per table and merged with the record stream, which
    // also catches projection rows that no record accounts for. Stored nodes are likewise streamed per
    // level, in the order the rebuilt tree completes them.
    const series = new Map<bigint, unknown[]>();
    const seriesRows = this.db
      .prepare('SELECT series_id, device, tbl, rule_id, rule_name, agent, policy_version FROM counter_series')
      .safeIntegers(true)
      .raw()
      .iterate() as IterableIterator<unknown[]>;
    for (const r of seriesRows) series.set(r[0] as bigint, r.slice(1));
    const streams = {} as Record<RecordKind, IterableIterator<unknown[]>>;
    for (const kind of Object.keys(PROJECTIONS) as RecordKind[]) {
      const proj = PROJECTIONS[kind];
      // A counter_samples row ends with its leaf hash: set when the row is the whole record, NULL when a
      // records row holds the leaf.
      const cols =
        kind === 'counter_sample' ? ['series_id', ...proj.columns.slice(6), 'leaf_hash'] : proj.columns;
      streams[kind] = this.db
        .prepare(`SELECT seq, time_ms, ${cols.join(', ')} FROM ${proj.table} ORDER BY seq`)
        .safeIntegers(true)
        .raw()
        .iterate() as IterableIterator<unknown[]>;
    }
    const nodeStreams = new Map<number, IterableIterator<[number, Buffer]>>();
    // One statement per level: a statement serves only one open iterator at a time.
    const nodeLevel = (level: number): IterableIterator<[number, Buffer]> =>
      this.db
        .prepare('SELECT idx, hash FROM nodes WHERE level = ? ORDER BY idx')
        .raw()
        .iterate(level) as IterableIterator<[number, Buffer]>;
    // Hash, a 0x00 byte and the leaf in one blob: one buffer per row instead of two, and the leaf hash
    // input (0x00 || leaf) is a view of it. CAST keeps the concatenation's bytes as they are.
    const records = this.db
      .prepare(
        `SELECT seq, kind, time_ms, length(leaf_hash), CAST(leaf_hash || x'00' || leaf AS BLOB)
         FROM records ORDER BY seq`,
      )
      .raw()
      .iterate() as IterableIterator<RecordStreamRow>;
    // An early return must not leave iterators open: they would pin this connection's read snapshot.
    const run = (): VerifyResult => {
      const replay = new Map<string, CounterState>();
      const frontier = new MerkleFrontier();
      let cpIndex = 0;
      let expected = 0;
      let prevCp: { tree_size: number; root: Buffer } | undefined;
      const checkCheckpointsAt = (size: number): VerifyResult | undefined => {
        while (cpIndex < cps.length && (cps[cpIndex] as { tree_size: number }).tree_size === size) {
          const cp = cps[cpIndex++] as { tree_size: number; root: Buffer };
          if (!frontier.root().equals(cp.root)) {
            const from = prevCp?.tree_size ?? 0;
            return bad(
              'CHECKPOINT_ROOT_MISMATCH',
              `records ${from}..${size - 1} do not produce the root signed in checkpoint ${size}`,
              from,
            );
          }
          if (prevCp) {
            let problem: string | undefined;
            try {
              const proof = consistencyProof(this.reader, prevCp.tree_size, size);
              problem = consistencyProblem(prevCp.tree_size, size, proof, prevCp.root, cp.root);
            } catch (e) {
              if (!(e instanceof EvidenceError)) throw e;
              problem = e.message;
            }
            if (problem) return bad('INCONSISTENT_CHECKPOINTS', `${prevCp.tree_size} -> ${size}: ${problem}`);
          }
          prevCp = cp;
        }
        return undefined;
      };
      let nodeProblem: string | undefined;
      const checkNode = (level: number, index: number, hash: Buffer): void => {
        if (nodeProblem !== undefined || level % NODE_STRIDE !== 0) return;
        let stream = nodeStreams.get(level);
        if (stream === undefined) {
          stream = nodeLevel(level);
          nodeStreams.set(level, stream);
        }
        const next = stream.next();
        if (next.done || next.value[0] !== index || !next.value[1].equals(hash))
          nodeProblem = `stored node ${level}/${index} differs from the rebuilt tree`;
      };
      const atZero = checkCheckpointsAt(0);
      if (atZero) return atZero;
      /**
       * The full check of one record from its leaf: decode (which insists on canonical form), header and
       * hash, stray members, counter replay, projection row. Returns the leaf hash, or the problem.
       */
      const checkFromLeaf = (
        seq: number,
        kind: string,
        timeMs: number,
        prefixed: Buffer,
        storedHash: Buffer,
        stored: unknown[] | undefined,
      ): Buffer | VerifyResult => {
        let decoded: DecodedLeaf;
        try {
          decoded = decodeLeaf(prefixed.subarray(1));
        } catch (e) {
          if (!(e instanceof EvidenceError)) throw e;
          return bad('BAD_LEAF', e.message, seq, kind);
        }
        if (decoded.seq !== seq) {
          return bad('SEQ_MISMATCH', `leaf says seq ${decoded.seq} but is stored at ${seq}`, seq, kind);
        }
        if (decoded.kind !== kind) {
          return bad('KIND_MISMATCH', `leaf says ${decoded.kind}, row says ${kind}`, seq, kind);
        }
        if (decoded.timeMs !== timeMs) {
          return bad('TIME_MISMATCH', `leaf says ${decoded.timeMs}, row says ${timeMs}`, seq, kind);
        }
        const leafHash = hashPrefixedLeaf(prefixed);
        if (!leafHash.equals(storedHash)) {
          return bad(
            'LEAF_HASH_MISMATCH',
            'stored leaf hash differs from the hash of the leaf bytes',
            seq,
            kind,
          );
        }
        const body = decoded.body;
        const stray = unknownField(decoded.kind, body, true);
        if (stray !== undefined || 'kind' in body || 'time' in body) {
          return bad(
            'BAD_LEAF',
            `leaf body has a field its kind does not define: ${stray ?? 'kind/time'}`,
            seq,
            kind,
          );
        }
        const want = PROJECTIONS[decoded.kind].values(body, body);
        let projected: boolean;
        if (decoded.kind === 'counter_sample') {
          const asCounter = (v: unknown): Counter => (typeof v === 'string' ? BigInt(v) : (v as number));
          const replayed = replayCounter(
            String(body['device']),
            String(body['table']),
            String(body['ruleId']),
            {
              packets: asCounter(body['packets']),
              bytes: asCounter(body['bytes']),
              epoch: body['epoch'] as string | undefined,
            },
            {
              deltaPackets: asCounter(body['deltaPackets']),
              deltaBytes: asCounter(body['deltaBytes']),
              reset: body['reset'] as boolean,
            },
          );
          if (!replayed) {
            return bad('DELTA_MISMATCH', 'counter delta does not follow from the previous sample', seq, kind);
          }
          // Stored: seq, time_ms, series_id, then the columns after the six the series row holds.
          const names = stored && series.get(stored[2] as bigint);
          projected =
            stored !== undefined &&
            names !== undefined &&
            stored.length === want.length - 3 &&
            sameColumn(stored[0], seq) &&
            sameColumn(stored[1], decoded.timeMs) &&
            names.every((v, i) => sameColumn(v, want[i])) &&
            stored.every((v, i) => i < 3 || sameColumn(v, want[i + 3]));
        } else {
          projected =
            stored !== undefined &&
            stored.length === want.length + 2 &&
            sameColumn(stored[0], seq) &&
            sameColumn(stored[1], decoded.timeMs) &&
            want.every((v, i) => sameColumn(stored[i + 2], v));
        }
        if (!projected) {
          return bad(
            'PROJECTION_MISMATCH',
            `${PROJECTIONS[decoded.kind].table} row differs from the leaf`,
            seq,
            kind,
          );
        }
        return leafHash;
      };
      const replayCounter = (
        device: string,
        table: string,
        ruleId: string,
        state: CounterState,
        claimed: CounterDelta,
      ): boolean => {
        const key = counterKey(device, table, ruleId);
        const d = counterDelta(replay.get(key), state);
        replay.set(key, state);
        return (
          sameCounter(d.deltaPackets, claimed.deltaPackets) &&
          sameCounter(d.deltaBytes, claimed.deltaBytes) &&
          d.reset === claimed.reset
        );
      };
      /**
       * Counter samples dominate the log, so they are first checked the other way round: the leaf the
       * projection row describes is encoded and compared byte for byte with the stored leaf. Equal bytes
       * prove the leaf canonical, free of stray members and in agreement with the row and header, which is
       * everything checkFromLeaf establishes before the replay. Any difference, or a row the encoder
       * cannot take, returns undefined and the record gets the full check, which names the problem.
       */
      const checkCounterFromRow = (
        seq: number,
        prefixed: Buffer,
        storedHash: Buffer,
        stored: unknown[],
      ): Buffer | VerifyResult | undefined => {
        const rebuilt = rebuildCounter(seq, stored, series.get(stored[2] as bigint));
        if (rebuilt === undefined || !rebuilt.prefixed.equals(prefixed)) return undefined;
        return checkRebuilt(seq, rebuilt, storedHash, 'LEAF_HASH_MISMATCH');
      };
      /** Hash and delta replay of a counter sample whose leaf bytes are known to match its row. */
      const checkRebuilt = (
        seq: number,
        rebuilt: RebuiltCounter,
        storedHash: Buffer,
        hashCode: VerifyProblemCode,
      ): Buffer | VerifyResult => {
        const leafHash = hashPrefixedLeaf(rebuilt.prefixed);
        if (!leafHash.equals(storedHash)) {
          const what =
            hashCode === 'LEAF_HASH_MISMATCH'
              ? 'stored leaf hash differs from the hash of the leaf bytes'
              : 'the leaf rebuilt from the counter_samples row does not hash to the stored leaf hash';
          return bad(hashCode, what, seq, 'counter_sample');
        }
        const { record, claimed } = rebuilt;
        const state = { packets: record.packets, bytes: record.bytes, epoch: record.epoch };
        if (!replayCounter(record.device, record.table, record.ruleId, state, claimed)) {
          return bad(
            'DELTA_MISMATCH',
            'counter delta does not follow from the previous sample',
            seq,
            'counter_sample',
          );
        }
        return leafHash;
      };
      /**
       * A record stored without its leaf bytes, which only counter samples are: the leaf is rebuilt from
       * the counter_samples row, so every column of that row (and of its series) is covered by the stored
       * leaf hash and, through the tree, by the checkpoints. Any disagreement is the row's.
       */
      /**
       * A counter sample stored as its counter_samples row alone: the leaf is rebuilt from the row and its
       * series, so every column of both is covered by the stored leaf hash and, through the tree, by the
       * checkpoints. The row is the only copy, so any disagreement is reported as the row's.
       */
      const checkCounterRow = (seq: number, row: unknown[]): Buffer | VerifyResult => {
        const storedHash = row[9];
        const stored = row.slice(0, 9);
        const rebuilt = Buffer.isBuffer(storedHash)
          ? rebuildCounter(seq, stored, series.get(stored[2] as bigint))
          : undefined;
        if (rebuilt === undefined) {
          return bad(
            'PROJECTION_MISMATCH',
            'counter_samples row cannot be encoded as a leaf',
            seq,
            'counter_sample',
          );
        }
        return checkRebuilt(seq, rebuilt, storedHash as Buffer, 'PROJECTION_MISMATCH');
      };
      // Records come from two seq-ordered streams: records rows, and counter samples stored as their
      // counter_samples row alone (the rows with a leaf hash). The counter stream also serves as the
      // projection of counter samples that do have a records row.
      const counters = streams.counter_sample;
      let counterHead: unknown[] | undefined;
      const peekCounter = (): unknown[] | undefined => {
        if (counterHead === undefined) {
          const next = counters.next();
          if (!next.done) counterHead = next.value;
        }
        return counterHead;
      };
      const takeCounter = (): unknown[] | undefined => {
        const row = peekCounter();
        counterHead = undefined;
        return row;
      };
      let recordHead = records.next();
      for (;;) {
        const head = peekCounter();
        const counterSeq = head !== undefined && head[9] !== null ? Number(head[0]) : undefined;
        const record = recordHead.done ? undefined : recordHead.value;
        if (record === undefined && counterSeq === undefined) break;
        let seq: number;
        let kind: string;
        let checked: Buffer | VerifyResult;
        if (counterSeq !== undefined && (record === undefined || counterSeq <= record[0])) {
          seq = counterSeq;
          kind = 'counter_sample';
          if (seq === record?.[0] || seq < expected) {
            return bad('SEQ_MISMATCH', `more than one record is stored at seq ${seq}`, seq, kind);
          }
          if (seq !== expected) {
            return bad(
              'MISSING_RECORD',
              `record ${expected} is missing (next stored record is ${seq})`,
              expected,
            );
          }
          checked = checkCounterRow(seq, takeCounter() as unknown[]);
        } else {
          const [recordSeq, recordKind, timeMs, hashLength, hashAndLeaf] = record as RecordStreamRow;
          recordHead = records.next();
          seq = recordSeq;
          kind = recordKind;
          if (seq !== expected) {
            return bad(
              'MISSING_RECORD',
              `record ${expected} is missing (next stored record is ${seq})`,
              expected,
            );
          }
          if (hashAndLeaf === null) return bad('BAD_LEAF', 'leaf or leaf hash is NULL', seq, kind);
          const storedHash = hashAndLeaf.subarray(0, hashLength);
          const prefixed = hashAndLeaf.subarray(hashLength);
          // The projection row is taken from the stream the row's kind names; a leaf of another kind fails
          // the kind check before its projection would be compared.
          let stored: unknown[] | undefined;
          if (kind === 'counter_sample') {
            stored = takeCounter()?.slice(0, 9);
          } else if (isRecordKind(kind)) {
            const next = streams[kind].next();
            if (!next.done) stored = next.value;
          }
          checked =
            (kind === 'counter_sample' && stored !== undefined
              ? checkCounterFromRow(seq, prefixed, storedHash, stored)
              : undefined) ?? checkFromLeaf(seq, kind, timeMs, prefixed, storedHash, stored);
        }
        if (!Buffer.isBuffer(checked)) return checked;
        const leafHash = checked;
        frontier.append(leafHash, checkNode, NODE_STRIDE);
        if (nodeProblem) return bad('NODE_MISMATCH', nodeProblem, seq, kind);
        expected++;
        if (cpIndex < cps.length) {
          const atSize = checkCheckpointsAt(expected);
          if (atSize) return atSize;
        }
      }
      if (cpIndex < cps.length) {
        const cp = cps[cpIndex] as { tree_size: number };
        return bad(
          'MISSING_RECORD',
          `checkpoint ${cp.tree_size} covers records beyond the last one`,
          expected,
        );
      }
      for (const kind of Object.keys(PROJECTIONS) as RecordKind[]) {
        const extra = kind === 'counter_sample' ? takeCounter() : streams[kind].next().value;
        if (extra !== undefined) {
          const seq = Number(extra[0]);
          return bad(
            'PROJECTION_MISMATCH',
            `${PROJECTIONS[kind].table} row ${seq} has no matching record`,
            seq,
          );
        }
      }
      return {
        ok: true,
        records: expected,
        checkpoints: cps.length,
        treeSize: expected,
        rootHash: hex(frontier.root()),
        signaturesChecked: publicKey !== undefined && origin !== undefined,
      };
    };
    try {
      return run();
    } finally {
      records.return?.();
      for (const stream of Object.values(streams)) stream.return?.();
      for (const stream of nodeStreams.values()) stream.return?.();
    }
  }

  /** Commits anything queued, then closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}

/** seq, kind, time_ms, length of the leaf hash, then leaf hash || 0x00 || leaf in one blob. */
type RecordStreamRow = [number, string, number, number, Buffer | null];

interface RecordRow {
  seq: number;
  kind: string;
  time_ms: number;
  leaf: Buffer;
  leaf_hash: Buffer;
}

/** A counter sample as its stored rows hold it, with the leaf they encode to. */
interface RebuiltCounter {
  record: CounterSampleRecord;
  claimed: CounterDelta;
  /** 0x00 || leaf, as encodeRecordLeafWithHashPrefix writes it. */
  prefixed: Buffer;
}

/**
 * The leaf of counter sample `seq` from its counter_samples row (seq, time_ms, series_id, packets, bytes,
 * delta_packets, delta_bytes, reset, epoch) and its counter_series row (device, tbl, rule_id, rule_name,
 * agent, policy_version), both read with safe integers. The encoder is a pure function of the record, so
 * this is the leaf the append hashed. Only the column types appends write are accepted; anything else
 * gives undefined, for the caller to report.
 */
function rebuildCounter(
  seq: number,
  stored: readonly unknown[],
  names: readonly unknown[] | undefined,
): RebuiltCounter | undefined {
  if (names === undefined || stored.length !== 9 || names.length !== 6) return undefined;
  const [, time, , packets, bytes, deltaPackets, deltaBytes, reset, epoch] = stored;
  const [device, table, ruleId, ruleName, agent, policyVersion] = names;
  const text = (v: unknown): v is string => typeof v === 'string';
  const optText = (v: unknown): v is string | null => v === null || typeof v === 'string';
  const int = (v: unknown): v is bigint => typeof v === 'bigint';
  if (
    !int(time) ||
    !text(device) ||
    !text(table) ||
    !text(ruleId) ||
    !text(policyVersion) ||
    !optText(ruleName) ||
    !optText(agent) ||
    !optText(epoch) ||
    !int(packets) ||
    !int(bytes) ||
    !int(deltaPackets) ||
    !int(deltaBytes) ||
    (reset !== 0n && reset !== 1n)
  )
    return undefined;
  const record: CounterSampleRecord = {
    kind: 'counter_sample',
    time: Number(time),
    device,
    table,
    ruleId,
    ruleName: ruleName ?? undefined,
    agent: agent ?? undefined,
    policyVersion,
    packets: exactInteger(packets),
    bytes: exactInteger(bytes),
    epoch: epoch ?? undefined,
  };
  const claimed: CounterDelta = {
    deltaPackets: exactInteger(deltaPackets),
    deltaBytes: exactInteger(deltaBytes),
    reset: reset === 1n,
  };
  try {
    return { record, claimed, prefixed: encodeRecordLeafWithHashPrefix(record, seq, claimed) };
  } catch (e) {
    if (!(e instanceof EvidenceError)) throw e;
    return undefined;
  }
}

/** An integer column read with safe integers, as the leaf holds it: a number when it fits exactly. */
function exactInteger(v: bigint): Counter {
  return v <= MAX_SAFE_BIGINT && v >= -MAX_SAFE_BIGINT ? Number(v) : v;
}

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

function sameCounter(a: Counter, b: Counter): boolean {
  return typeof a === typeof b ? a === b : String(a) === String(b);
}

/**
 * Whether a stored projection column holds the value the leaf gives it, as it would have been bound
 * (absent as NULL, booleans as 0/1, nested values as canonical JSON). Columns are read with safe integers,
 * so integer columns arrive as bigints; wide leaf integers arrive as decimal strings.
 */
function sameColumn(stored: unknown, want: unknown): boolean {
  if (typeof want === 'string')
    return typeof stored === 'string' ? stored === want : comparable(stored) === want;
  if (typeof want === 'number' && typeof stored === 'bigint' && Number.isSafeInteger(want))
    return stored === BigInt(want);
  return comparable(stored) === comparable(sqlValue(want));
}

export interface CheckedProof {
  origin: string;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  /** Present when the bundle carried the leaf bytes. */
  record?: StoredRecord;
}

/**
 * Verifies an inclusion proof bundle with nothing but the log's public key and origin: the checkpoint
 * signature, that the checkpoint covers the claimed tree size, the RFC 9162 inclusion proof, and, when the
 * leaf bytes are included, that they hash to the leaf and carry the claimed sequence number.
 */
export function checkProof(
  bundle: InclusionProofBundle | string,
  publicKey: string | KeyObject,
  origin: string,
): CheckedProof {
  let b: InclusionProofBundle;
  try {
    b = typeof bundle === 'string' ? (JSON.parse(bundle) as InclusionProofBundle) : bundle;
  } catch {
    fail('BAD_PROOF', 'proof bundle is not JSON');
  }
  if (typeof b !== 'object' || b === null || b.format !== PROOF_FORMAT)
    fail('BAD_PROOF', 'not a proof bundle');
  if (!Array.isArray(b.proof) || typeof b.leafHash !== 'string' || typeof b.checkpoint !== 'string') {
    fail('BAD_PROOF', 'proof bundle is missing fields');
  }
  const cp = openCheckpoint(b.checkpoint, loadPublicKey(publicKey), origin);
  if (cp.treeSize !== b.treeSize)
    fail('BAD_PROOF', `bundle says size ${b.treeSize}, checkpoint ${cp.treeSize}`);
  const isHex = (s: unknown): boolean => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
  if (!isHex(b.leafHash) || !b.proof.every(isHex))
    fail('BAD_PROOF', 'hashes must be 64 lowercase hex digits');
  const leafHash = Buffer.from(b.leafHash, 'hex');
  let record: StoredRecord | undefined;
  if (b.leaf !== undefined) {
    const leaf = Buffer.from(b.leaf, 'base64');
    if (!hashLeaf(leaf).equals(leafHash)) fail('BAD_PROOF', 'leaf bytes do not hash to the leaf hash');
    const decoded = decodeLeaf(leaf);
    if (decoded.seq !== b.leafIndex)
      fail('BAD_PROOF', `leaf carries seq ${decoded.seq}, bundle says ${b.leafIndex}`);
    record = { seq: decoded.seq, kind: decoded.kind, time: decoded.timeMs, body: decoded.body };
  }
  verifyInclusion(
    leafHash,
    b.leafIndex,
    b.treeSize,
    b.proof.map((p) => Buffer.from(p, 'hex')),
    cp.root,
  );
  return {
    origin,
    leafIndex: b.leafIndex,
    treeSize: b.treeSize,
    leafHash: b.leafHash,
    rootHash: hex(cp.root),
    ...(record ? { record } : {}),
  };
}

/** Errors from SQLite or from decoding a damaged file, as the store's own typed CORRUPT error. */
function asEvidenceError(e: unknown, path: string): unknown {
  if (e instanceof EvidenceError) return e;
  const sqliteCode = (e as { code?: unknown }).code;
  if (e instanceof TypeError || (typeof sqliteCode === 'string' && /^SQLITE_CORRUPT/.test(sqliteCode))) {
    return new EvidenceError('CORRUPT', `${path}: ${(e as Error).message}`);
  }
  return e;
}
