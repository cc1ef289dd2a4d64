// Transport security and server lifecycle: TLS, mutual TLS, stop/kill releasing the port.

import * as assert from 'assert';
import * as fs from 'fs';
import * as grpc from '@grpc/grpc-js';
import * as os from 'os';
import * as path from 'path';
import { makeTestPki, type TestPki } from '../../test/support/certs';
import { rawClient, TestStream } from '../../test/support/raw-p4rt';
import type { P4RuntimeClient } from '../p4runtime/proto';
import { Softnic, SoftnicStartError } from './server';

function capabilities(client: P4RuntimeClient): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    // A deadline bounds the TLS failure cases, which otherwise wait for reconnection.
    client.Capabilities({}, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err));
  });
}

describe('softnic server: TLS', () => {
  let dir: string;
  let pki: TestPki;
  const clients: P4RuntimeClient[] = [];
  const servers: Softnic[] = [];
  const client = (creds: grpc.ChannelCredentials, address: string) => {
    const c = rawClient(address, creds);
    clients.push(c);
    return c;
  };
  const start = async (tls: Parameters<typeof Softnic.start>[0]['tls']) => {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1, tls });
    servers.push(nic);
    return nic;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'softnic-tls-'));
    pki = makeTestPki(dir);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await s.stop();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves TLS clients that trust its CA and fails those that do not', async () => {
    const nic = await start({ cert: pki.serverCert, key: pki.serverKey });
    assert.strictEqual(await capabilities(client(grpc.credentials.createSsl(pki.ca), nic.address)), null);
    assert.strictEqual(
      await capabilities(client(grpc.credentials.createSsl(pki.ca), `localhost:${nic.port}`)),
      null,
    );
    const wrong = await capabilities(client(grpc.credentials.createSsl(pki.wrongCa), nic.address));
    assert.strictEqual(wrong?.code, grpc.status.UNAVAILABLE);
    const plain = await capabilities(client(grpc.credentials.createInsecure(), nic.address));
    assert.ok(plain !== null, 'a plaintext client cannot talk to a TLS server');
  });

  it('with requireClientCert, accepts only clients holding a certificate from its CA', async () => {
    const nic = await start({
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.ca,
      requireClientCert: true,
    });
    const good = grpc.credentials.createSsl(pki.ca, pki.clientKey, pki.clientCert);
    assert.strictEqual(await capabilities(client(good, nic.address)), null);
    const none = await capabilities(client(grpc.credentials.createSsl(pki.ca), nic.address));
    assert.strictEqual(none?.code, grpc.status.UNAVAILABLE, 'no client certificate: handshake fails');
    const foreign = await capabilities(
      client(grpc.credentials.createSsl(pki.ca, pki.wrongClientKey, pki.wrongClientCert), nic.address),
    );
    assert.strictEqual(foreign?.code, grpc.status.UNAVAILABLE);
    const expired = await capabilities(
      client(grpc.credentials.createSsl(pki.ca, pki.expiredClientKey, pki.expiredClientCert), nic.address),
    );
    assert.strictEqual(expired?.code, grpc.status.UNAVAILABLE);
  });

  it('refuses requireClientCert without a CA', async () => {
    await assert.rejects(
      Softnic.start({
        address: '127.0.0.1:0',
        deviceId: 1,
        tls: { cert: pki.serverCert, key: pki.serverKey, requireClientCert: true },
      }),
      (e: unknown) => e instanceof SoftnicStartError && e.code === 'BAD_OPTIONS',
    );
  });
});

describe('softnic server: lifecycle', () => {
  it('refuses device id 0', async () => {
    await assert.rejects(Softnic.start({ address: '127.0.0.1:0', deviceId: 0 }), /non-zero/);
  });

  it('stop() ends streams and frees the port for a restart on it', async () => {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    const client = rawClient(nic.address);
    const stream = new TestStream(client);
    stream.arbitrate(1);
    await stream.nextArbitration();
    await nic.stop();
    assert.strictEqual((await stream.closed()).code, grpc.status.OK);
    client.close();
    const again = await Softnic.start({ address: `127.0.0.1:${nic.port}`, deviceId: 1 });
    assert.strictEqual(again.port, nic.port);
    await again.stop();
  });

  it('kill() drops connections and frees the port', async () => {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    const client = rawClient(nic.address);
    const stream = new TestStream(client);
    stream.arbitrate(1);
    await stream.nextArbitration();
    nic.kill();
    const status = await stream.closed();
    assert.notStrictEqual(status.code, grpc.status.OK);
    client.close();
    const again = await Softnic.start({ address: `127.0.0.1:${nic.port}`, deviceId: 1 });
    const c2 = rawClient(again.address);
    const s2 = new TestStream(c2);
    s2.arbitrate(1);
    assert.strictEqual((await s2.nextArbitration()).status?.code ?? 0, 0);
    assert.strictEqual(again.state, undefined, 'a restarted softnic has no pipeline');
    s2.call.cancel();
    c2.close();
    await again.stop();
  });
});
