// The compiled nicguard program as committed in p4/build/: P4Info (JSON, as p4c writes it) and the
// bmv2 device configuration. Loaded once and checked against the table contract, so that every
// caller gets a pipeline the controller is known to understand.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { P4InfoIndex, loadP4Info } from '../p4runtime/p4info';
import { encodeMessage } from '../p4runtime/proto';
import { checkContract } from './check';

export interface PipelineArtifacts {
  readonly p4info: P4InfoIndex;
  /** P4Info in binary protobuf, as SetForwardingPipelineConfig carries it. */
  readonly p4infoBinary: Buffer;
  /** The target's device configuration (bmv2 JSON); empty when it was not built. */
  readonly deviceConfig: Buffer;
  /** Identifies this exact program on a device (P4Runtime §14: ForwardingPipelineConfig.cookie). */
  readonly cookie: string;
}

const BUILD_FILES = {
  p4info: 'nicguard.p4info.json',
  bmv2: 'nicguard.bmv2.json',
};

/** The p4/build folder of the repository, found by walking up from this module (src or dist). */
export function buildDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'p4', 'build');
    if (existsSync(join(candidate, BUILD_FILES.p4info))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find p4/build/${BUILD_FILES.p4info} above ${__dirname}`);
    dir = parent;
  }
}

/**
 * A cookie that changes whenever the program does: the first 8 bytes of SHA-256 over the P4Info
 * and the device configuration, as an unsigned decimal (the proto field is uint64).
 */
export function pipelineCookie(p4infoBinary: Uint8Array, deviceConfig: Uint8Array): string {
  const digest = createHash('sha256').update(p4infoBinary).update(deviceConfig).digest();
  return digest.readBigUInt64BE(0).toString();
}

let cached: PipelineArtifacts | undefined;

/** The committed nicguard pipeline, contract-checked. */
export function loadNicguardPipeline(dir = buildDir()): PipelineArtifacts {
  if (cached && dir === buildDir()) return cached;
  const p4infoPath = join(dir, BUILD_FILES.p4info);
  const p4info = loadP4Info(readFileSync(p4infoPath, 'utf8'));
  checkContract(p4info, p4infoPath);
  const p4infoBinary = encodeMessage('p4.config.v1.P4Info', p4info.message);
  const bmv2Path = join(dir, BUILD_FILES.bmv2);
  const deviceConfig = existsSync(bmv2Path) ? readFileSync(bmv2Path) : Buffer.alloc(0);
  const artifacts = {
    p4info,
    p4infoBinary,
    deviceConfig,
    cookie: pipelineCookie(p4infoBinary, deviceConfig),
  };
  if (dir === buildDir()) cached = artifacts;
  return artifacts;
}
