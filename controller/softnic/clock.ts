// Time as the softnic's server sees it: a monotonic nanosecond clock and one-shot timers. Injected so
// that digest batching and ack expiry can be tested by advancing time explicitly.

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Monotonic time in nanoseconds. */
  nowNs(): bigint;
  /** Calls `fn` once, `delayNs` from now. */
  setTimer(delayNs: bigint, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Real time. Timers do not keep the process alive. */
export class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  nowNs(): bigint {
    return process.hrtime.bigint();
  }

  setTimer(delayNs: bigint, fn: () => void): TimerHandle {
    const handle = { id: this.nextId++ };
    // Rounded up so that a timer never fires before its deadline.
    const ms = Number((delayNs + 999_999n) / 1_000_000n);
    const t = setTimeout(() => {
      this.timers.delete(handle.id);
      fn();
    }, ms);
    t.unref();
    this.timers.set(handle.id, t);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(handle.id);
  }
}

/** Time that moves only when told to; due timers run inside advance(), in deadline order. */
export class ManualClock implements Clock {
  private now: bigint;
  private nextId = 1;
  private readonly timers = new Map<number, { at: bigint; fn: () => void }>();

  constructor(startNs = 1_000_000_000n) {
    this.now = startNs;
  }

  nowNs(): bigint {
    return this.now;
  }

  setTimer(delayNs: bigint, fn: () => void): TimerHandle {
    const handle = { id: this.nextId++ };
    this.timers.set(handle.id, { at: this.now + delayNs, fn });
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Number of timers not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  advance(deltaNs: bigint): void {
    const target = this.now + deltaNs;
    for (;;) {
      let due: [number, { at: bigint; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= target && (due === undefined || entry[1].at < due[1].at)) due = entry;
      }
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = target;
  }
}
