// Executing a plan against a device. The P4Runtime client implements DeviceWriter (one Write RPC
// per call); this module owns only the order: phases strictly one after the other, the batches of
// a phase one at a time, and a stop at the first failure, reported with the update that failed.
// A stopped apply leaves a state that is safe (every prefix of a plan is, see plan.ts); reading the
// device back and planning again yields the remaining updates.
import { Update } from './plan';
import { Plan } from './plan';

export interface UpdateResult {
  readonly ok: boolean;
  /** Canonical gRPC code name of a failure (e.g. ALREADY_EXISTS, NOT_FOUND, RESOURCE_EXHAUSTED). */
  readonly code?: string;
  readonly message?: string;
}

export interface DeviceWriter {
  /** Sends one batch (one Write). Returns one result per update, in order. */
  write(updates: readonly Update[]): Promise<readonly UpdateResult[]>;
}

export interface ApplyProgress {
  readonly phase: number;
  readonly phaseName: string;
  readonly phases: number;
  readonly updatesDone: number;
  readonly updatesTotal: number;
}

export interface ApplyDone {
  readonly phasesDone: number;
  /** Updates the device accepted, including those of a failed batch that succeeded. */
  readonly updatesDone: number;
  readonly applied: readonly Update[];
}

export const ApplyErrorCode = { UPDATE_FAILED: 'UPDATE_FAILED', WRITER_FAILED: 'WRITER_FAILED' } as const;

export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(
    readonly code: keyof typeof ApplyErrorCode,
    message: string,
    readonly phase: number,
    readonly phaseName: string,
    readonly done: ApplyDone,
    /** The first update of the batch that failed, when the device said which. */
    readonly update?: Update,
    readonly result?: UpdateResult,
  ) {
    super(message);
  }
}

export interface ApplyResult extends ApplyDone {
  readonly ok: boolean;
  readonly error?: ApplyError;
}

function describe(update: Update): string {
  if ('entry' in update) return `${update.type} ${update.entry.table}`;
  if ('meter' in update) return `MODIFY meter ${update.meter.meter}[${update.meter.index}]`;
  if ('meterReset' in update) return `reset meter ${update.meterReset.meter}[${update.meterReset.index}]`;
  return `write register ${update.register.register}[${update.register.index}]`;
}

/** Runs the plan's phases in order; never throws for device errors, which come back in the result. */
export async function applyPlan(
  plan: Plan,
  writer: DeviceWriter,
  onProgress?: (progress: ApplyProgress) => void,
): Promise<ApplyResult> {
  const total = plan.phases.reduce((n, p) => n + p.batches.reduce((m, b) => m + b.length, 0), 0);
  const applied: Update[] = [];
  const done = (phasesDone: number): ApplyDone => ({ phasesDone, updatesDone: applied.length, applied });
  for (let p = 0; p < plan.phases.length; p++) {
    const phase = plan.phases[p];
    for (const batch of phase.batches) {
      let results: readonly UpdateResult[];
      try {
        results = await writer.write(batch);
      } catch (error) {
        const err = new ApplyError(
          'WRITER_FAILED',
          `phase ${p + 1} (${phase.name}): write failed: ${(error as Error).message}`,
          p,
          phase.name,
          done(p),
        );
        return { ok: false, error: err, ...done(p) };
      }
      let failed: { update: Update; result: UpdateResult } | undefined;
      batch.forEach((update, i) => {
        const result = results[i] ?? {
          ok: false,
          code: 'UNKNOWN',
          message: 'no result returned for this update',
        };
        if (result.ok) applied.push(update);
        else failed ??= { update, result };
      });
      if (failed) {
        const { update, result } = failed;
        const err = new ApplyError(
          'UPDATE_FAILED',
          `phase ${p + 1} (${phase.name}): ${describe(update)} failed: ${result.code ?? 'UNKNOWN'} ${result.message ?? ''}`.trim(),
          p,
          phase.name,
          done(p),
          update,
          result,
        );
        return { ok: false, error: err, ...done(p) };
      }
      onProgress?.({
        phase: p,
        phaseName: phase.name,
        phases: plan.phases.length,
        updatesDone: applied.length,
        updatesTotal: total,
      });
    }
  }
  return { ok: true, ...done(plan.phases.length) };
}
