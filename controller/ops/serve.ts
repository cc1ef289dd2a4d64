// The controller daemon. For each configured device it keeps a session that connects, arbitrates,
// makes sure the nicguard pipeline is installed, reconciles the device to the policy set, collects
// telemetry on an interval and closes quota windows on schedule. A device that goes away is
// recorded as lost and, once back, re-pushed and reconciled; a policy directory change is applied
// to every device, or refused whole if it does not load. The device keeps enforcing whatever it
// holds when the controller is gone: nothing here is in the data path.

import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import type { DeviceConfig, NicguardConfig } from '../config/config';
import { openDevice, telemetrySource, type OpenedDevice } from '../device/device';
import type { EvidenceLog } from '../evidence';
import { loadPolicySet } from '../policy/load';
import { formatDiagnostics } from '../policy/errors';
import type { PolicySet } from '../policy/model';
import { policyVersion } from '../policy/canonical';
import { loadNicguardPipeline, type PipelineArtifacts } from '../pipeline/artifacts';
import { DIGESTS } from '../pipeline/contract';
import { TelemetryCollector } from '../telemetry/collector';
import { QuotaEnforcer, quotaDeviceFor } from '../telemetry/quota-enforcer';
import { pushPolicy } from './push';
import { requireSignedPolicy } from '../policy/signature';

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void;

/** One JSON object per line: time, level, event and the event's fields. */
export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  return (level, event, fields = {}) =>
    write(
      JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }, (_k, v: unknown) =>
        typeof v === 'bigint' ? v.toString() : v,
      ) + '\n',
    );
}

export interface DeviceHealth {
  readonly name: string;
  readonly connected: boolean;
  readonly primary: boolean;
  readonly policyVersion?: string;
  readonly lastCollectMs?: number;
  readonly lastCollectDurationMs?: number;
  readonly collectErrors: number;
  readonly missedIntervals: number;
  readonly reconciles: number;
  readonly losses: number;
  readonly lastError?: string;
}

export interface ServeOptions {
  readonly config: NicguardConfig;
  readonly evidence: EvidenceLog;
  /** Sign a checkpoint after each push and periodically. */
  readonly signing: boolean;
  readonly log: Logger;
  readonly author?: string;
  /** How often a device is asked a question with a deadline, to find one that hangs. */
  readonly livenessIntervalMs?: number;
  readonly pipeline?: PipelineArtifacts;
  /** An Ed25519 public key (PEM): a policy directory not signed by it is refused like one that does not load. */
  readonly requireSignature?: string;
}

/** What serve knows, for /metrics and /healthz. */
export interface ServeSnapshot {
  readonly policyVersion?: string;
  readonly policyError?: string;
  readonly devices: readonly DeviceHealth[];
}

class DeviceSession {
  opened?: OpenedDevice;
  collector?: TelemetryCollector;
  /** Targets without registers (bluefield-dpl): quotas are enforced by flipping rules from counters. */
  quotaEnforcer?: QuotaEnforcer;
  health: { -readonly [K in keyof DeviceHealth]: DeviceHealth[K] };
  reasons: Awaited<ReturnType<TelemetryCollector['readReasons']>> = { dropped: [], audited: [] };
  private timer?: NodeJS.Timeout;
  private liveness?: NodeJS.Timeout;
  private busy = false;
  private generation = 0;
  private stopped = false;
  private reconnectTimer?: NodeJS.Timeout;

  constructor(
    readonly device: DeviceConfig,
    private readonly serve: Serve,
  ) {
    this.health = {
      name: device.name,
      connected: false,
      primary: false,
      collectErrors: 0,
      missedIntervals: 0,
      reconciles: 0,
      losses: 0,
    };
  }

  async start(): Promise<void> {
    await this.connect();
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delayMs);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { log, evidence } = this.serve.options;
    try {
      const opened = await openDevice(this.device, this.serve.pipeline, {
        reconnect: { initialMs: 200, maxMs: 5_000 },
      });
      if (this.stopped) {
        opened.client.close();
        return;
      }
      this.opened = opened;
      this.generation++;
      this.health.connected = true;
      this.health.primary = opened.client.isPrimary;
      evidence.append({
        kind: 'device_event',
        time: Date.now(),
        device: this.device.name,
        event: 'connected',
        detail: { cookie: opened.cookie },
      });
      if (opened.pipelinePushed) {
        evidence.append({
          kind: 'device_event',
          time: Date.now(),
          device: this.device.name,
          event: 'pipeline_pushed',
          detail: { cookie: opened.cookie },
        });
      }
      log('info', 'device.connected', {
        device: this.device.name,
        address: this.device.address,
        pipelinePushed: opened.pipelinePushed,
      });
      const client = opened.client;
      client.on('disconnected', (err) => this.lost(err.message));
      client.on('reconnected', () => void this.afterReconnect());
      client.on('demoted', () => {
        this.health.primary = false;
        log('warn', 'device.demoted', {
          device: this.device.name,
          note: 'another controller is primary; this one stops writing',
        });
      });
      client.on('primary', () => {
        const regained = !this.health.primary;
        this.health.primary = true;
        // Policy changes skipped while another controller was primary are applied now, or the
        // device would keep the other controller's entries until the next change.
        if (regained)
          this.reconcile('primary again').catch((err: Error) =>
            log('error', 'device.reconcile_failed', { device: this.device.name, error: err.message }),
          );
      });
      if (client.profile.digests) {
        client.onDigest((list) => {
          this.collector?.recordDigests(list.data);
        });
        await client.configureDigest(DIGESTS.deny.name, {
          maxTimeoutNs: 50_000_000,
          maxListSize: 128,
          ackTimeoutNs: 1_000_000_000,
        });
      }
      await this.reconcile('connect');
      this.startTimers();
    } catch (err) {
      this.health.lastError = (err as Error).message;
      log('warn', 'device.unreachable', { device: this.device.name, error: (err as Error).message });
      this.scheduleReconnect(1_000);
    }
  }

  private lost(reason: string): void {
    if (!this.health.connected) return;
    this.health.connected = false;
    this.health.losses++;
    this.serve.options.evidence.append({
      kind: 'device_event',
      time: Date.now(),
      device: this.device.name,
      event: 'lost',
      detail: { reason },
    });
    this.serve.options.log('warn', 'device.lost', { device: this.device.name, reason });
  }

  /** The stream is back: the device may have restarted empty, or only the connection broke. */
  private afterReconnect(): Promise<void> {
    if (!this.opened) return Promise.resolve();
    this.health.connected = true;
    return this.restore('reconnect');
  }

  /**
   * Brings back a device that was out of reach: pipeline (when its cookie differs), digest
   * configuration, then a reconcile. It waits in the same queue as every reconcile, so that a
   * liveness recovery and a stream reconnect racing each other never write entries to a device
   * whose pipeline is not there yet.
   */
  private restore(why: string): Promise<void> {
    const run = this.reconciling.then(() => this.restoreNow(why));
    this.reconciling = run.catch(() => undefined);
    return run;
  }

  private async restoreNow(why: string): Promise<void> {
    const opened = this.opened;
    if (!opened || !this.health.connected) return;
    const { log, evidence } = this.serve.options;
    try {
      const { pushed, cookie } = await opened.client.ensurePipeline({
        p4info: this.serve.pipeline.p4info,
        deviceConfig: this.serve.pipeline.deviceConfig,
        cookie: this.serve.pipeline.cookie,
      });
      // A device that needed its pipeline again lost its counters with it: a new counter epoch, so
      // the evidence log counts from zero. One that kept its pipeline kept its counters, and a new
      // epoch there would count their whole value a second time.
      if (pushed) this.generation++;
      evidence.append({
        kind: 'device_event',
        time: Date.now(),
        device: this.device.name,
        event: 'connected',
        detail: { cookie, reconnect: true, why },
      });
      if (pushed)
        evidence.append({
          kind: 'device_event',
          time: Date.now(),
          device: this.device.name,
          event: 'pipeline_pushed',
          detail: { cookie },
        });
      log('info', 'device.reconnected', { device: this.device.name, why, pipelinePushed: pushed });
      if (opened.client.profile.digests) {
        await opened.client.configureDigest(DIGESTS.deny.name, {
          maxTimeoutNs: 50_000_000,
          maxListSize: 128,
          ackTimeoutNs: 1_000_000_000,
        });
      }
      await this.reconcileNow(why);
    } catch (err) {
      this.health.lastError = (err as Error).message;
      log('error', 'device.reconcile_failed', { device: this.device.name, error: (err as Error).message });
    }
  }

  private reconciling: Promise<void> = Promise.resolve();

  /**
   * Brings the device to the current policy set. Reconciles of one device run one after another:
   * a reconnect, a liveness recovery and a policy change can all ask at once, and two plans made
   * from the same device state would race each other's writes.
   */
  reconcile(why: string): Promise<void> {
    const run = this.reconciling.then(() => this.reconcileNow(why));
    this.reconciling = run.catch(() => undefined);
    return run;
  }

  private async reconcileNow(why: string): Promise<void> {
    const policy = this.serve.policy;
    const opened = this.opened;
    if (!policy || !opened || !this.health.connected) return;
    if (!opened.client.isPrimary) {
      this.serve.options.log('warn', 'device.not_primary', {
        device: this.device.name,
        note: 'reconcile skipped',
      });
      return;
    }
    const { log, evidence, signing } = this.serve.options;
    const outcome = await pushPolicy({
      client: opened.client,
      device: this.device.name,
      cookie: this.serve.pipeline.cookie,
      policySet: policy,
      author: this.serve.options.author ?? 'nicguard serve',
      evidence,
      checkpoint: signing,
    });
    this.health.reconciles++;
    this.health.policyVersion = outcome.compiled.version;
    const epoch = `${this.serve.pipeline.cookie}:${this.generation}`;
    if (!this.collector) {
      this.collector = new TelemetryCollector(telemetrySource(opened.client), evidence, outcome.compiled, {
        device: this.device.name,
        profile: opened.client.profile,
        epoch: () => `${this.serve.pipeline.cookie}:${this.generation}`,
      });
    } else this.collector.setPolicy(outcome.compiled);
    if (this.quotaEnforcer) this.quotaEnforcer.setPolicy(outcome.compiled);
    else if (QuotaEnforcer.needed(opened.client.profile)) {
      this.quotaEnforcer = new QuotaEnforcer(quotaDeviceFor(opened.client), evidence, outcome.compiled, {
        device: this.device.name,
        profile: opened.client.profile,
      });
    }
    log(outcome.result?.ok ? 'info' : 'error', 'device.reconciled', {
      device: this.device.name,
      why,
      policyVersion: outcome.compiled.version,
      summary: outcome.plan.summary,
      drift: outcome.plan.drift.length,
      ok: outcome.result?.ok,
      error: outcome.result?.error?.message,
      epoch,
    });
  }

  private startTimers(): void {
    if (this.timer) return;
    const interval = this.serve.options.config.telemetry.intervalMs;
    let due = Date.now() + interval;
    this.timer = setInterval(() => {
      if (this.busy) {
        this.health.missedIntervals++;
        return;
      }
      if (Date.now() > due + interval)
        this.health.missedIntervals += Math.floor((Date.now() - due) / interval);
      due = Date.now() + interval;
      void this.tick();
    }, interval);
    this.timer.unref?.();
    const livenessMs = this.serve.options.livenessIntervalMs ?? 10_000;
    this.liveness = setInterval(() => void this.checkLiveness(), livenessMs);
    this.liveness.unref?.();
  }

  /**
   * A device that stops answering without closing the connection (a paused process, a wedged
   * server) is only found by asking it something with a deadline. One that answers again after
   * being counted lost is reconciled, since nobody knows what it did meanwhile.
   */
  private async checkLiveness(): Promise<void> {
    const client = this.opened?.client;
    if (!client || client.state === 'disconnected') return;
    try {
      await client.ping(Math.min(5_000, this.serve.options.livenessIntervalMs ?? 10_000));
      if (!this.health.connected) {
        this.health.connected = true;
        this.serve.options.log('info', 'device.answering', { device: this.device.name });
        await this.restore('answering again');
      }
    } catch (err) {
      this.lost(`no answer within the liveness deadline: ${(err as Error).message}`);
    }
  }

  private async tick(): Promise<void> {
    const collector = this.collector;
    if (!collector || !this.health.connected) return;
    this.busy = true;
    const started = Date.now();
    try {
      await collector.collect();
      await collector.closeQuotaWindows();
      await this.quotaEnforcer?.poll();
      this.reasons = await collector.readReasons();
      this.health.lastCollectMs = Date.now();
      this.health.lastCollectDurationMs = Date.now() - started;
      this.serve.emit('collected', this.device.name);
    } catch (err) {
      this.health.collectErrors++;
      this.health.lastError = (err as Error).message;
      this.serve.options.log('warn', 'telemetry.failed', {
        device: this.device.name,
        error: (err as Error).message,
      });
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.liveness) clearInterval(this.liveness);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    this.opened?.client.close();
  }
}

export class Serve extends EventEmitter<{ collected: [string]; policy: [string] }> {
  policy?: PolicySet;
  policyError?: string;
  readonly pipeline: PipelineArtifacts;
  private readonly sessions: DeviceSession[];
  private watcher?: FSWatcher;
  private reloadTimer?: NodeJS.Timeout;
  private checkpointTimer?: NodeJS.Timeout;

  constructor(readonly options: ServeOptions) {
    super();
    this.pipeline = options.pipeline ?? loadNicguardPipeline();
    this.sessions = options.config.devices.map((d) => new DeviceSession(d, this));
  }

  /** Loads the policy, connects every device and starts watching the policy directory. */
  async start(): Promise<void> {
    this.loadPolicy();
    await Promise.all(this.sessions.map((s) => s.start()));
    try {
      this.watcher = watch(this.options.config.policyDir, { recursive: false }, () => this.scheduleReload());
    } catch (err) {
      this.options.log('warn', 'policy.watch_failed', {
        dir: this.options.config.policyDir,
        error: (err as Error).message,
      });
    }
    if (this.options.signing) {
      this.checkpointTimer = setInterval(() => this.checkpoint(), 60_000);
      this.checkpointTimer.unref?.();
    }
  }

  private checkpoint(): void {
    try {
      this.options.evidence.flush();
      this.options.evidence.checkpoint();
    } catch (err) {
      this.options.log('warn', 'evidence.checkpoint_failed', { error: (err as Error).message });
    }
  }

  private scheduleReload(): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.reload(), 300);
  }

  /** Reads the policy directory; keeps the previous policy when the new one does not load. */
  private loadPolicy(): boolean {
    const { policySet, diagnostics } = loadPolicySet(this.options.config.policyDir);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (!policySet || errors.length > 0) {
      this.policyError = formatDiagnostics(diagnostics);
      this.options.log('error', 'policy.rejected', {
        dir: this.options.config.policyDir,
        errors: errors.length,
        diagnostics: errors.map((d) => d.format()),
        note: this.policy
          ? 'the previous policy stays in force'
          : 'no policy in force: devices keep what they hold',
      });
      return false;
    }
    if (this.options.requireSignature && !this.signatureAccepted(policySet)) return false;
    const changed = !this.policy || policyVersion(this.policy) !== policyVersion(policySet);
    this.policy = policySet;
    this.policyError = undefined;
    if (changed)
      this.options.log('info', 'policy.loaded', {
        dir: this.options.config.policyDir,
        version: policyVersion(policySet),
      });
    return changed;
  }

  /** A refused signature is logged and recorded as evidence against every device it would have reached. */
  private signatureAccepted(policySet: PolicySet): boolean {
    try {
      requireSignedPolicy(policySet, [this.options.config.policyDir], this.options.requireSignature!);
      return true;
    } catch (err) {
      const error = (err as Error).message;
      this.policyError = error;
      this.options.log('error', 'policy.rejected', {
        dir: this.options.config.policyDir,
        reason: 'signature',
        error,
        note: this.policy
          ? 'the previous policy stays in force'
          : 'no policy in force: devices keep what they hold',
      });
      for (const session of this.sessions)
        this.options.evidence.append({
          kind: 'device_event',
          time: Date.now(),
          device: session.device.name,
          event: 'note',
          detail: { refused: 'policy signature', error },
        });
      return false;
    }
  }

  async reload(): Promise<void> {
    if (!this.loadPolicy()) return;
    for (const session of this.sessions) {
      try {
        await session.reconcile('policy change');
      } catch (err) {
        this.options.log('error', 'device.reconcile_failed', {
          device: session.device.name,
          error: (err as Error).message,
        });
      }
    }
    if (this.policy) this.emit('policy', policyVersion(this.policy));
  }

  /** The collectors' last readings, per device, for /metrics. */
  *readings(): Iterable<{
    device: string;
    rules: ReturnType<TelemetryCollector['ruleTotals']>;
    dropped: Awaited<ReturnType<TelemetryCollector['readReasons']>>['dropped'];
    audited: Awaited<ReturnType<TelemetryCollector['readReasons']>>['audited'];
  }> {
    for (const s of this.sessions) {
      if (!s.collector) continue;
      yield { device: s.device.name, rules: s.collector.ruleTotals(), ...s.reasons };
    }
  }

  snapshot(): ServeSnapshot {
    return {
      policyVersion: this.policy ? policyVersion(this.policy) : undefined,
      policyError: this.policyError,
      devices: this.sessions.map((s) => ({ ...s.health })),
    };
  }

  /** Stops timers and sessions, flushes the evidence log and signs a last checkpoint. */
  async stop(): Promise<void> {
    this.watcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    await Promise.all(this.sessions.map((s) => s.stop()));
    this.options.evidence.flush();
    if (this.options.signing) this.checkpoint();
  }
}
