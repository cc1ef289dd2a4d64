// Why the packet model refuses to run: the pipeline it was given is not one it can execute.

export type PacketModelErrorCode = 'NOT_NICGUARD_PIPELINE' | 'UNSUPPORTED_TABLE_SHAPE' | 'BAD_INGRESS_PORT';

export class PacketModelError extends Error {
  override readonly name = 'PacketModelError';
  constructor(
    readonly code: PacketModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}
