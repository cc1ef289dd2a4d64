// The gRPC channel to a P4Runtime device: credentials (TLS, mutual TLS, or plaintext only when
// asked for by name), channel settings that C-core servers tolerate, and clear reasons when the
// device cannot be reached or the TLS handshake fails.

import * as grpc from '@grpc/grpc-js';
import * as net from 'net';
import * as tls from 'tls';
import { ClientOptionsError, ConnectionError, type TlsFailure } from './errors';
import { loadP4RuntimeGrpc, type P4RuntimeClient } from './proto';

export interface TlsOptions {
  /** PEM roots the device's certificate must chain to. */
  readonly ca: Buffer;
  /** Client certificate chain and key (PEM), for mutual TLS. Both or neither. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Name to verify the device's certificate against, when it differs from the address's host. */
  readonly serverName?: string;
}

export interface ChannelSettings {
  readonly address: string;
  readonly tls?: TlsOptions;
  /** Plaintext, only when set explicitly: there is never a fallback from TLS to plaintext. */
  readonly insecure?: boolean;
  /** Limit on one received message (Read responses, pipeline configs); default 256 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest Write batch in updates: sizes the metadata limit (P4Runtime §12.3). */
  readonly maxUpdatesPerBatch: number;
  /** Channel reconnect backoff, kept in step with the stream's. */
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
  /** Keepalive ping interval; C-core servers answer pings more often than every 5 minutes with GOAWAY. */
  readonly keepaliveTimeMs?: number;
  /** Extra channel arguments, applied last. */
  readonly channelOptions?: grpc.ChannelOptions;
}

/** C-core's minimum interval between keepalive pings without data (grpc "too_many_pings"). */
export const MIN_KEEPALIVE_MS = 300_000;

/**
 * Metadata a client must accept for a Write of `maxUpdates` updates: the rule of thumb of the
 * P4Runtime specification's implementation guidelines (8192 + 100 per update) with room for longer
 * messages than it assumes, since every failed update's message rides in the trailer (§12.3).
 */
export function metadataLimitFor(maxUpdates: number): number {
  return 8192 + PER_UPDATE_METADATA_BYTES * maxUpdates;
}

/** Trailer bytes budgeted per update: an Any-wrapped p4.v1.Error with a message of ~100 characters. */
export const PER_UPDATE_METADATA_BYTES = 160;

/**
 * Metadata the grpc-js transport can actually receive. grpc-js does not apply
 * `grpc.max_metadata_size`; Node's HTTP/2 session keeps its default header-list limit, and a
 * failed call whose status details exceed it never completes (it ends only at its deadline). Raw
 * `grpc-status-details-bin` of about 60 000 bytes still arrives; 64 000 does not.
 */
export const RECEIVABLE_METADATA_BYTES = 60_000;

/** Most updates per Write whose error trailer surely fits what the transport can receive. */
export const MAX_UPDATES_PER_BATCH = Math.floor(
  (RECEIVABLE_METADATA_BYTES - 8192) / PER_UPDATE_METADATA_BYTES,
);

export function channelCredentials(
  settings: Pick<ChannelSettings, 'tls' | 'insecure' | 'address'>,
): grpc.ChannelCredentials {
  if (settings.tls && settings.insecure) {
    throw new ClientOptionsError(`both tls and insecure given for ${settings.address}: choose one`);
  }
  if (settings.insecure === true) return grpc.credentials.createInsecure();
  const t = settings.tls;
  if (!t) {
    throw new ClientOptionsError(
      `no transport security for ${settings.address}: give tls {ca, cert?, key?}, or insecure: true to use plaintext`,
    );
  }
  if ((t.cert === undefined) !== (t.key === undefined)) {
    throw new ClientOptionsError('mutual TLS needs both cert and key');
  }
  return grpc.credentials.createSsl(t.ca, t.key ?? null, t.cert ?? null);
}

export function channelOptions(settings: ChannelSettings): grpc.ChannelOptions {
  const keepalive = settings.keepaliveTimeMs ?? MIN_KEEPALIVE_MS;
  if (keepalive < MIN_KEEPALIVE_MS) {
    throw new ClientOptionsError(
      `keepaliveTimeMs ${keepalive} is below ${MIN_KEEPALIVE_MS}: C-core servers (bmv2, Stratum) close connections that ping more often`,
    );
  }
  const options: grpc.ChannelOptions = {
    'grpc.keepalive_time_ms': keepalive,
    'grpc.keepalive_timeout_ms': 20_000,
    // Pings without calls in flight are what C-core servers punish; liveness is checked by ping().
    'grpc.keepalive_permit_without_calls': 0,
    'grpc.max_receive_message_length': settings.maxReceiveMessageBytes ?? 256 * 1024 * 1024,
    'grpc.max_metadata_size': metadataLimitFor(settings.maxUpdatesPerBatch),
    'grpc.initial_reconnect_backoff_ms': settings.reconnectInitialMs,
    'grpc.max_reconnect_backoff_ms': settings.reconnectMaxMs,
  };
  if (settings.tls?.serverName) options['grpc.ssl_target_name_override'] = settings.tls.serverName;
  return { ...options, ...settings.channelOptions };
}

/** A P4Runtime stub on its own channel. */
export function createStub(settings: ChannelSettings): P4RuntimeClient {
  const { P4RuntimeClient } = loadP4RuntimeGrpc();
  return new P4RuntimeClient(settings.address, channelCredentials(settings), channelOptions(settings));
}

/**
 * Waits until the channel is connected, or fails with a ConnectionError that says why: nobody
 * listening, or which part of the TLS handshake failed. A TLS failure is final and reported at
 * the first failed attempt; an unreachable device is retried until the deadline, since devices
 * restart.
 */
export async function waitConnected(
  stub: P4RuntimeClient,
  settings: Pick<ChannelSettings, 'address' | 'tls' | 'insecure'>,
  timeoutMs: number,
): Promise<void> {
  const channel = stub.getChannel();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = channel.getConnectivityState(true);
    if (state === grpc.connectivityState.READY) return;
    if (state === grpc.connectivityState.SHUTDOWN) {
      throw new ConnectionError(
        'UNREACHABLE',
        `the channel to ${settings.address} was closed`,
        settings.address,
      );
    }
    if (state === grpc.connectivityState.TRANSIENT_FAILURE) {
      const err = await diagnose(stub, settings, Math.max(1, Math.min(deadline - Date.now(), 5_000)));
      if (err.code === 'TLS_FAILED' || Date.now() >= deadline) throw err;
    }
    const changed = await new Promise<boolean>((resolve) =>
      channel.watchConnectivityState(state, deadline, (err) => resolve(!err)),
    );
    if (!changed) throw await diagnose(stub, settings, 1_000);
  }
}

/** Turns a connection failure into a ConnectionError with the most precise reason available. */
export async function diagnose(
  stub: P4RuntimeClient,
  settings: Pick<ChannelSettings, 'address' | 'tls' | 'insecure'>,
  timeoutMs: number,
): Promise<ConnectionError> {
  // A call that does not wait for the connection fails at once with the transport's last error.
  const lastError = await new Promise<string>((resolve) =>
    stub.Capabilities({}, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err) =>
      resolve(err ? err.details : ''),
    ),
  );
  let text = lastError;
  // grpc-js reports some handshake rejections only as "Failed to connect"; our own TLS handshake
  // with the same material shows what the server objected to.
  if (!classifyText(text, settings) && !/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/.test(text)) {
    const probe = await probeHandshake(settings, timeoutMs);
    if (probe) text = `${text} [handshake: ${probe}]`;
  }
  return connectionError(settings, text);
}

function connectionError(
  settings: Pick<ChannelSettings, 'address' | 'tls' | 'insecure'>,
  text: string,
): ConnectionError {
  const address = settings.address;
  const failure = classifyText(text, settings);
  if (failure === undefined) {
    return new ConnectionError(
      'UNREACHABLE',
      `cannot reach the P4Runtime device at ${address}: ${brief(text)}`,
      address,
      undefined,
      text,
    );
  }
  return new ConnectionError(
    'TLS_FAILED',
    `TLS with ${address} failed: ${TLS_REASONS[failure]} (${brief(text)})`,
    address,
    failure,
    text,
  );
}

const TLS_REASONS: Readonly<Record<TlsFailure, string>> = {
  UNTRUSTED_SERVER: "the device's certificate is not issued by the configured CA (wrong CA?)",
  NAME_MISMATCH: "the device's certificate is not valid for the name connected to (set tls.serverName?)",
  EXPIRED: "the device's certificate has expired or is not yet valid",
  CLIENT_CERT_REJECTED: 'the device refused our client certificate, or requires one and none was given',
  NOT_TLS: 'the device does not speak TLS on this port',
  SERVER_EXPECTS_TLS: 'the device expects TLS but the client was set to plaintext (insecure: true)',
  UNKNOWN: 'handshake failed',
};

/** The TLS failure a transport error text describes, or undefined when it is not a TLS failure. */
export function classifyText(
  text: string,
  settings: Pick<ChannelSettings, 'tls' | 'insecure'>,
): TlsFailure | undefined {
  if (settings.insecure) return /\[handshake: tls-ok\]/.test(text) ? 'SERVER_EXPECTS_TLS' : undefined;
  if (
    /alert certificate required|alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|decrypt error|access denied)|closed after handshake/i.test(
      text,
    )
  )
    return 'CLIENT_CERT_REJECTED';
  if (/ALTNAME|does not match certificate|altnames/i.test(text)) return 'NAME_MISMATCH';
  if (
    /unable to verify|self[- ]signed|unable to get (local )?issuer|UNABLE_TO_VERIFY|certificate chain|unknown ca/i.test(
      text,
    )
  )
    return 'UNTRUSTED_SERVER';
  if (/certificate has expired|certificate is not yet valid|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/i.test(text))
    return 'EXPIRED';
  if (/wrong version number|packet length too long|unknown protocol|http request/i.test(text))
    return 'NOT_TLS';
  if (/\[handshake: /.test(text)) return /tls-ok/.test(text) ? undefined : 'UNKNOWN';
  return undefined;
}

function brief(text: string): string {
  return text
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .replace(/\. Resolution note: ?/, '')
    .trim();
}

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  return { host: host || 'localhost', port: Number(address.slice(at + 1)) };
}

/**
 * One TLS handshake with the channel's own material, to learn what grpc-js reports only as
 * "Failed to connect". The server speaks first after an accepted handshake (HTTP/2 SETTINGS), so
 * data means accepted; an alert or a close before any data means it refused us. Returns a short
 * description, 'tls-ok' when the handshake and first read succeed, or undefined if the port gave
 * no answer.
 */
function probeHandshake(
  settings: Pick<ChannelSettings, 'address' | 'tls' | 'insecure'>,
  timeoutMs: number,
): Promise<string | undefined> {
  const { host, port } = splitAddress(settings.address);
  const t = settings.tls;
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = tls.connect({
      host,
      port,
      ALPNProtocols: ['h2'],
      servername: t?.serverName ?? (net.isIP(host) ? undefined : host),
      // With insecure settings we only ask whether the port speaks TLS at all.
      rejectUnauthorized: !settings.insecure,
      ca: t?.ca,
      cert: t?.cert,
      key: t?.key,
    });
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => {
      if (settings.insecure) done('tls-ok');
    });
    socket.once('data', () => done('tls-ok'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`${err.code ?? ''} ${err.message}`.trim()));
    socket.once('close', () => done('closed after handshake'));
  });
}
