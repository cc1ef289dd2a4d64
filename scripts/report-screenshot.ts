/**
 * Renders an HTML report to a PNG with headless Chromium, for eyeballing a report's design and for
 * attaching a picture of it to a ticket:
 *
 *   node dist/scripts/report-screenshot.js <report.html> <out.png>
 *
 * Chromium is optional: without it on PATH the script says so on one line and exits 0, so a build
 * machine without a browser is not a failed build.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const SKIP_MESSAGE = 'report-screenshot: skipped: chromium is not on PATH (apt-get install chromium)';

/** The first executable called `name` on PATH, as a shell would find it; undefined if none. */
export function findOnPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // Not here or not executable: keep looking, as the shell would.
    }
  }
  return undefined;
}

/**
 * The browser's arguments. A throwaway profile and no background services keep a run from reading an
 * existing profile or reaching the network, so the picture depends on the file alone.
 */
export function chromiumArgs(htmlPath: string, pngPath: string, profileDir: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    `--user-data-dir=${profileDir}`,
    `--screenshot=${pngPath}`,
    '--window-size=1280,2000',
    pathToFileURL(htmlPath).href,
  ];
}

function run(file: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(file, args, { timeout: 120_000, maxBuffer: 8 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stderr: String(stderr) });
    });
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv.length !== 2) {
    process.stderr.write('usage: report-screenshot <report.html> <out.png>\n');
    return 2;
  }
  const htmlPath = resolve(argv[0] as string);
  const pngPath = resolve(argv[1] as string);
  if (!existsSync(htmlPath)) {
    process.stderr.write(`report-screenshot: ${htmlPath} does not exist\n`);
    return 2;
  }
  const chromium = findOnPath('chromium');
  if (!chromium) {
    process.stdout.write(`${SKIP_MESSAGE}\n`);
    return 0;
  }
  const profileDir = mkdtempSync(join(tmpdir(), 'report-screenshot-'));
  try {
    rmSync(pngPath, { force: true });
    const result = await run(chromium, chromiumArgs(htmlPath, pngPath, profileDir));
    if (result.code !== 0 || !existsSync(pngPath)) {
      const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
      process.stderr.write(
        `report-screenshot: chromium exited ${result.code} without writing ${pngPath}\n${tail}\n`,
      );
      return 1;
    }
    process.stdout.write(`report-screenshot: wrote ${pngPath}\n`);
    return 0;
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`report-screenshot: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
