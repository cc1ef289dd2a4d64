// Why the packet model refuses to run: no pipeline, or one it cannot execute, or a frame it cannot
// have received.

export type PacketModelErrorCode =
  'NOT_NICGUARD_PIPELINE' | 'UNSUPPORTED_TABLE_SHAPE' | 'BAD_INGRESS_PORT' | 'NO_PIPELINE';

export class PacketModelError extends Error {
  override readonly name = 'PacketModelError';
  constructor(
    readonly code: PacketModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}
