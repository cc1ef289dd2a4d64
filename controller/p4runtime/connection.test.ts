import { strict as assert } from 'assert';
import {
  channelCredentials,
  channelOptions,
  classifyText,
  MAX_UPDATES_PER_BATCH,
  metadataLimitFor,
  MIN_KEEPALIVE_MS,
  RECEIVABLE_METADATA_BYTES,
} from './connection';
import { ClientOptionsError } from './errors';

const base = {
  address: '127.0.0.1:9559',
  maxUpdatesPerBatch: 256,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5000,
};
const pem = Buffer.from('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');

describe('connection: credentials', () => {
  it('never picks plaintext on its own', () => {
    assert.throws(
      () => channelCredentials({ address: base.address }),
      (err: unknown) => {
        assert.ok(err instanceof ClientOptionsError);
        assert.match(err.message, /insecure: true/);
        return true;
      },
    );
  });

  it('refuses contradictory or half mutual-TLS settings', () => {
    assert.throws(
      () => channelCredentials({ address: base.address, insecure: true, tls: { ca: pem } }),
      /choose one/,
    );
    assert.throws(
      () => channelCredentials({ address: base.address, tls: { ca: pem, cert: pem } }),
      /both cert and key/,
    );
  });

  it('gives plaintext only when asked for by name', () => {
    assert.equal(channelCredentials({ address: base.address, insecure: true })._isSecure(), false);
  });
});

describe('connection: channel settings', () => {
  it('keeps keepalive pings at or above what C-core servers accept, and none without calls', () => {
    const o = channelOptions(base);
    assert.ok((o['grpc.keepalive_time_ms'] as number) >= MIN_KEEPALIVE_MS);
    assert.equal(o['grpc.keepalive_permit_without_calls'], 0);
    assert.throws(() => channelOptions({ ...base, keepaliveTimeMs: 10_000 }), /too_many_pings|C-core/);
  });

  it('raises the metadata limit past the §12.3 rule of thumb for the batch size', () => {
    const o = channelOptions(base);
    assert.ok((o['grpc.max_metadata_size'] as number) >= 8192 + 100 * 256);
    assert.ok((o['grpc.max_receive_message_length'] as number) > 4 * 1024 * 1024);
  });

  it('bounds the batch size so that the error trailer fits what the transport receives', () => {
    assert.ok(metadataLimitFor(MAX_UPDATES_PER_BATCH) <= RECEIVABLE_METADATA_BYTES);
    assert.ok(metadataLimitFor(MAX_UPDATES_PER_BATCH + 1) > RECEIVABLE_METADATA_BYTES);
  });

  it('verifies the certificate against tls.serverName when given', () => {
    assert.equal(
      channelOptions({ ...base, tls: { ca: pem, serverName: 'dpu.example' } })[
        'grpc.ssl_target_name_override'
      ],
      'dpu.example',
    );
  });
});

describe('connection: TLS failure reasons', () => {
  const tls = { tls: { ca: pem } };
  const cases: [string, string | undefined][] = [
    ['Error: unable to verify the first certificate', 'UNTRUSTED_SERVER'],
    ['Error: self-signed certificate in certificate chain', 'UNTRUSTED_SERVER'],
    [
      "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames",
      'NAME_MISMATCH',
    ],
    ['Error: certificate has expired', 'EXPIRED'],
    ['ssl3_read_bytes:tlsv13 alert certificate required:SSL alert number 116', 'CLIENT_CERT_REJECTED'],
    ['Failed to connect [handshake: closed after handshake]', 'CLIENT_CERT_REJECTED'],
    ['ssl3_get_record:wrong version number', 'NOT_TLS'],
    ['Error: connect ECONNREFUSED 127.0.0.1:1', undefined],
  ];
  for (const [text, expected] of cases) {
    it(`reads "${text.slice(0, 50)}" as ${expected ?? 'not a TLS failure'}`, () => {
      assert.equal(classifyText(text, tls), expected);
    });
  }

  it('tells a plaintext client that the server speaks TLS', () => {
    assert.equal(
      classifyText('Failed to connect [handshake: tls-ok]', { insecure: true }),
      'SERVER_EXPECTS_TLS',
    );
    assert.equal(classifyText('Error: connect ECONNREFUSED', { insecure: true }), undefined);
  });
});
