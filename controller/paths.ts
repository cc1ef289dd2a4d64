// Files that ship with nicguard (protos, the compiled P4 program, examples) are found by walking up
// from the module that needs them, so the same code works from the sources and from dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The first existing `relative` path above `from` (a directory), or undefined. */
export function findUp(relative: string, from: string = __dirname): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Like findUp, but a missing file is an error naming what was looked for. */
export function requireUp(relative: string, from: string = __dirname): string {
  const found = findUp(relative, from);
  if (!found) throw new Error(`cannot find ${relative} above ${from}`);
  return found;
}
