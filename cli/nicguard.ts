#!/usr/bin/env node
// The nicguard command line: one tool for network engineers, security teams and testers.
import { buildProgram } from './program';

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`nicguard: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
