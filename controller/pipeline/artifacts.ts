// The compiled nicguard program as committed in p4/build/: P4Info (JSON, as p4c writes it) and the
// bmv2 device configuration. Loaded once and checked against the table contract, so that every
// caller gets a pipeline the controller is known to understand.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { requireUp } from '../paths';
import { P4InfoIndex, loadP4Info } from '../p4runtime/p4info';
import { pipelineCookie } from '../p4runtime/client';
import { checkContract } from './check';

export interface PipelineArtifacts {
  readonly p4info: P4InfoIndex;
  /** The target's device configuration (bmv2 JSON); empty when it was not built. */
  readonly deviceConfig: Buffer;
  /** Identifies this exact program on a device (P4Runtime §14: ForwardingPipelineConfig.cookie). */
  readonly cookie: string;
}

const BUILD_FILES = {
  p4info: 'nicguard.p4info.json',
  bmv2: 'nicguard.bmv2.json',
};

/** The p4/build folder of the repository, found from this module (src or dist). */
export function buildDir(): string {
  return dirname(requireUp(join('p4', 'build', BUILD_FILES.p4info)));
}

let cached: PipelineArtifacts | undefined;

/** The committed nicguard pipeline, contract-checked. */
export function loadNicguardPipeline(dir = buildDir()): PipelineArtifacts {
  if (cached && dir === buildDir()) return cached;
  const p4infoPath = join(dir, BUILD_FILES.p4info);
  const p4info = loadP4Info(readFileSync(p4infoPath, 'utf8'));
  checkContract(p4info, p4infoPath);
  const bmv2Path = join(dir, BUILD_FILES.bmv2);
  const deviceConfig = existsSync(bmv2Path) ? readFileSync(bmv2Path) : Buffer.alloc(0);
  const artifacts = {
    p4info,
    deviceConfig,
    cookie: pipelineCookie(p4info.message, deviceConfig),
  };
  if (dir === buildDir()) cached = artifacts;
  return artifacts;
}
