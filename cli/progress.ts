// A one-line progress display on stderr for long operations. It draws only on a terminal and never
// with --json, so logs and pipes see nothing but the final result.

import { interactive, type GlobalOptions } from './kit';

export interface Progress {
  update(done: number, total: number, label?: string): void;
  done(): void;
}

const SILENT: Progress = { update: () => undefined, done: () => undefined };

export function progressBar(options: GlobalOptions, what: string): Progress {
  if (!interactive(options)) return SILENT;
  let last = 0;
  let drawn = false;
  return {
    update(done, total, label) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const share = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(share * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      process.stderr.write(`\r${what} ${bar} ${done}/${total}${label ? ` ${label}` : ''}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}
