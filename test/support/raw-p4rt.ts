// A thin P4Runtime client over the raw grpc-js stubs, for testing servers: every reply is returned
// as received (status codes, per-update error details, arbitration messages), nothing is retried or
// interpreted.

import * as grpc from '@grpc/grpc-js';
import {
  decodeMessage,
  encodeMessage,
  loadP4RuntimeGrpc,
  type MessageTypes,
  type Entity,
  type MasterArbitrationUpdate,
  type P4Error,
  type P4Info,
  type P4RuntimeClient,
  type PipelineConfigAction,
  type ReadRequest,
  type StreamMessageRequest,
  type StreamMessageResponse,
  type Update,
  type WriteRequest,
} from '../../controller/p4runtime/proto';

export function rawClient(
  address: string,
  credentials?: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
): P4RuntimeClient {
  const { P4RuntimeClient } = loadP4RuntimeGrpc();
  return new P4RuntimeClient(address, credentials ?? grpc.credentials.createInsecure(), {
    // Per-update error details grow with the batch (field notes: 8 KB default is too small).
    'grpc.max_metadata_size': 16 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    ...options,
  });
}

export interface RpcFailure {
  code: grpc.status;
  details: string;
  /** p4.v1.Error per element, decoded from grpc-status-details-bin; empty when the trailer is absent. */
  errors: P4Error[];
}

function failure(err: grpc.ServiceError): RpcFailure {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  const errors: P4Error[] = [];
  if (bin instanceof Buffer) {
    const status = decodeMessage('google.rpc.Status', bin);
    for (const any of status.details ?? [])
      errors.push(decodeMessage('p4.v1.Error', any.value ?? Buffer.alloc(0)));
  }
  return { code: err.code, details: err.details, errors };
}

/** Write; resolves with undefined on OK, or the failure. */
export function write(client: P4RuntimeClient, req: WriteRequest): Promise<RpcFailure | undefined> {
  return new Promise((resolve) => {
    client.Write(req, (err) => resolve(err ? failure(err) : undefined));
  });
}

export function writeUpdates(
  client: P4RuntimeClient,
  electionLow: number,
  updates: Update[],
  deviceId = '1',
): Promise<RpcFailure | undefined> {
  return write(client, { device_id: deviceId, election_id: { low: String(electionLow) }, updates });
}

/** Read; collects every entity of every response, and the final failure if any. */
export function read(
  client: P4RuntimeClient,
  req: ReadRequest,
): Promise<{ entities: Entity[]; responses: number; failure?: RpcFailure }> {
  return new Promise((resolve) => {
    const entities: Entity[] = [];
    let responses = 0;
    const call = client.Read(req);
    call.on('data', (r: { entities?: Entity[] }) => {
      responses++;
      entities.push(...(r.entities ?? []));
    });
    call.on('error', (err: grpc.ServiceError) => resolve({ entities, responses, failure: failure(err) }));
    call.on('end', () => resolve({ entities, responses }));
  });
}

export function readEntities(client: P4RuntimeClient, entities: Entity[], deviceId = '1') {
  return read(client, { device_id: deviceId, entities });
}

export function setPipeline(
  client: P4RuntimeClient,
  opts: {
    p4info?: P4Info;
    electionLow?: number;
    cookie?: string;
    action?: PipelineConfigAction;
    deviceId?: string;
    deviceConfig?: Buffer;
  },
): Promise<RpcFailure | undefined> {
  return new Promise((resolve) => {
    const config: Record<string, unknown> = {};
    if (opts.p4info) config.p4info = opts.p4info;
    if (opts.deviceConfig) config.p4_device_config = opts.deviceConfig;
    if (opts.cookie !== undefined) config.cookie = { cookie: opts.cookie };
    client.SetForwardingPipelineConfig(
      {
        device_id: opts.deviceId ?? '1',
        election_id: opts.electionLow === undefined ? undefined : { low: String(opts.electionLow) },
        action: opts.action ?? 'VERIFY_AND_COMMIT',
        config,
      },
      (err) => resolve(err ? failure(err) : undefined),
    );
  });
}

/** A StreamChannel whose incoming messages are queued for `next()`. */
export class TestStream {
  readonly call: grpc.ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>;
  private readonly queue: StreamMessageResponse[] = [];
  private waiters: ((m: StreamMessageResponse | undefined) => void)[] = [];
  /** Set when the server ended the stream: its status, OK included. */
  status: { code: grpc.status; details: string } | undefined;
  private readonly ended: Promise<{ code: grpc.status; details: string }>;

  constructor(client: P4RuntimeClient) {
    this.call = client.StreamChannel();
    this.call.on('data', (m: StreamMessageResponse) => {
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
    this.ended = new Promise((resolve) => {
      const done = (s: { code: grpc.status; details: string }) => {
        this.status ??= s;
        for (const w of this.waiters.splice(0)) w(undefined);
        resolve(this.status);
      };
      this.call.on('error', (e: grpc.ServiceError) => done({ code: e.code, details: e.details }));
      this.call.on('status', (s: grpc.StatusObject) => done({ code: s.code, details: s.details }));
    });
  }

  /** The next message, or undefined if the stream ended first. */
  next(): Promise<StreamMessageResponse | undefined> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.status) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Messages received and not yet taken by next(). */
  get buffered(): number {
    return this.queue.length;
  }

  async nextArbitration(): Promise<MasterArbitrationUpdate> {
    const m = await this.next();
    if (m?.update !== 'arbitration')
      throw new Error(`expected an arbitration update, got ${JSON.stringify(m)}`);
    return m.arbitration!;
  }

  send(msg: StreamMessageRequest): void {
    this.call.write(msg);
  }

  arbitrate(
    electionLow: number | undefined,
    opts: { deviceId?: string; role?: string; roleConfig?: boolean } = {},
  ): void {
    const arbitration: MasterArbitrationUpdate = { device_id: opts.deviceId ?? '1' };
    if (electionLow !== undefined) arbitration.election_id = { low: String(electionLow) };
    if (opts.role !== undefined || opts.roleConfig) {
      arbitration.role = { name: opts.role ?? '' };
      if (opts.roleConfig)
        arbitration.role.config = { type_url: 'type.googleapis.com/x.Config', value: Buffer.from([1]) };
    }
    this.send({ arbitration });
  }

  /** Resolves with the final status once the server ends the stream. */
  closed(): Promise<{ code: grpc.status; details: string }> {
    return this.ended;
  }

  end(): void {
    this.call.end();
  }
}

/** A server under test with one client that is primary (election id 1) and a committed pipeline. */
export interface PrimarySession {
  client: P4RuntimeClient;
  stream: TestStream;
  close(): void;
}

export async function connectPrimary(
  address: string,
  p4info: P4Info,
  electionLow = 1,
): Promise<PrimarySession> {
  const client = rawClient(address);
  const stream = new TestStream(client);
  stream.arbitrate(electionLow);
  await stream.nextArbitration();
  const failed = await setPipeline(client, { p4info, electionLow });
  if (failed) throw new Error(`SetForwardingPipelineConfig failed: ${failed.details}`);
  return {
    client,
    stream,
    close: () => {
      stream.call.cancel();
      client.close();
    },
  };
}

/**
 * `value` as it arrives after a trip through the wire: oneof markers added, defaults dropped. Lets
 * tests compare what they wrote with what they read back.
 */
export function asReceived<K extends keyof MessageTypes>(name: K, value: MessageTypes[K]): MessageTypes[K] {
  return decodeMessage(name, encodeMessage(name, value));
}
