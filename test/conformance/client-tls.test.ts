// The client's transport security against the softnic over loopback: TLS and mutual TLS with
// generated certificates, a precise reason for each handshake failure, and never a fallback to
// plaintext.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DeviceClient, type ClientOptions } from '../../controller/p4runtime/client';
import { ClientOptionsError, ConnectionError, type TlsFailure } from '../../controller/p4runtime/errors';
import { Softnic } from '../../controller/softnic/server';
import { makeTestPki, type TestPki } from '../support/certs';

describe('conformance: client TLS (softnic)', function () {
  this.timeout(30_000);
  let dir: string;
  let pki: TestPki;
  const servers: Softnic[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicguard-tls-'));
    pki = makeTestPki(dir);
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    for (const s of servers.splice(0)) s.kill();
  });

  async function server(tls?: Parameters<typeof Softnic.start>[0]['tls']): Promise<Softnic> {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1n, tls });
    servers.push(nic);
    return nic;
  }

  function options(nic: Softnic, extra: Partial<ClientOptions>): ClientOptions {
    // 'localhost' so that the certificate's DNS name is what gets checked.
    return {
      address: `localhost:${nic.port}`,
      deviceId: 1n,
      electionId: 1n,
      reconnect: false,
      connectTimeoutMs: 3000,
      ...extra,
    };
  }

  async function failure(opts: ClientOptions): Promise<ConnectionError> {
    const err = await DeviceClient.connect(opts).then(
      (c) => {
        c.close();
        assert.fail('expected the connection to fail');
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectionError, String(err));
    return err;
  }

  const expectTls = (err: ConnectionError, reason: TlsFailure) => {
    assert.equal(err.code, 'TLS_FAILED');
    assert.equal(err.tlsFailure, reason, err.message);
  };

  it('talks to a TLS device that presents a certificate from the trusted CA', async () => {
    const nic = await server({ cert: pki.serverCert, key: pki.serverKey });
    const client = await DeviceClient.connect(options(nic, { tls: { ca: pki.ca } }));
    try {
      assert.equal(client.state, 'primary');
      assert.equal((await client.capabilities()).apiVersion, '1.5.0');
    } finally {
      client.close();
    }
  });

  it('talks mutual TLS with a client certificate the device trusts', async () => {
    const nic = await server({
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.ca,
      requireClientCert: true,
    });
    const client = await DeviceClient.connect(
      options(nic, { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } }),
    );
    try {
      assert.ok((await client.ping()) >= 0);
    } finally {
      client.close();
    }
  });

  it('says the CA is wrong when the device certificate does not chain to it', async () => {
    const nic = await server({ cert: pki.serverCert, key: pki.serverKey });
    const err = await failure(options(nic, { tls: { ca: pki.wrongCa } }));
    expectTls(err, 'UNTRUSTED_SERVER');
    assert.match(err.message, /not issued by the configured CA/);
  });

  it('says the name does not match, and accepts the certificate under the name it was issued for', async () => {
    const nic = await server({ cert: pki.otherHostServerCert, key: pki.otherHostServerKey });
    expectTls(await failure(options(nic, { tls: { ca: pki.ca } })), 'NAME_MISMATCH');
    const client = await DeviceClient.connect(
      options(nic, { tls: { ca: pki.ca, serverName: 'other.invalid' } }),
    );
    client.close();
  });

  it('says the device certificate has expired', async () => {
    const nic = await server({ cert: pki.expiredServerCert, key: pki.expiredServerKey });
    expectTls(await failure(options(nic, { tls: { ca: pki.ca } })), 'EXPIRED');
  });

  it('says the device wants a client certificate when none or an untrusted one is given', async () => {
    const nic = await server({
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.ca,
      requireClientCert: true,
    });
    expectTls(await failure(options(nic, { tls: { ca: pki.ca } })), 'CLIENT_CERT_REJECTED');
    expectTls(
      await failure(
        options(nic, { tls: { ca: pki.ca, cert: pki.wrongClientCert, key: pki.wrongClientKey } }),
      ),
      'CLIENT_CERT_REJECTED',
    );
  });

  it('never falls back to plaintext', async () => {
    const plain = await server();
    // TLS asked for, plaintext device: a TLS failure, not a quiet plaintext session.
    expectTls(await failure(options(plain, { tls: { ca: pki.ca } })), 'NOT_TLS');
    // Nothing asked for: refused before any connection.
    await assert.rejects(DeviceClient.connect(options(plain, {})), ClientOptionsError);
    // Plaintext asked for, TLS device: said so.
    const secure = await server({ cert: pki.serverCert, key: pki.serverKey });
    expectTls(await failure(options(secure, { insecure: true })), 'SERVER_EXPECTS_TLS');
    // Plaintext works only against a plaintext device and only when asked for by name.
    const client = await DeviceClient.connect(options(plain, { insecure: true }));
    client.close();
  });

  it('says unreachable when nobody listens', async () => {
    const nic = await server();
    const port = nic.port;
    nic.kill();
    const err = await failure({
      address: `127.0.0.1:${port}`,
      deviceId: 1n,
      insecure: true,
      reconnect: false,
      connectTimeoutMs: 1000,
    });
    assert.equal(err.code, 'UNREACHABLE');
    assert.match(err.message, /cannot reach the P4Runtime device at 127\.0\.0\.1/);
  });
});
