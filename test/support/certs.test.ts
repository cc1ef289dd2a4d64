import * as assert from 'assert';
import { X509Certificate, createPrivateKey } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeTestPki, type TestPki } from './certs';

describe('test PKI', () => {
  let dir: string;
  let pki: TestPki;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-'));
    pki = makeTestPki(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('issues leaves from the right roots', () => {
    const ca = new X509Certificate(pki.ca);
    const wrongCa = new X509Certificate(pki.wrongCa);
    assert.ok(ca.ca);
    for (const leaf of [
      pki.serverCert,
      pki.clientCert,
      pki.expiredServerCert,
      pki.expiredClientCert,
      pki.otherHostServerCert,
    ]) {
      const cert = new X509Certificate(leaf);
      assert.ok(cert.verify(ca.publicKey));
      assert.ok(!cert.verify(wrongCa.publicKey));
    }
    assert.ok(new X509Certificate(pki.wrongClientCert).verify(wrongCa.publicKey));
  });

  it('names localhost and 127.0.0.1 on the server certificate only', () => {
    const server = new X509Certificate(pki.serverCert);
    assert.ok(server.checkHost('localhost'));
    assert.ok(server.checkIP('127.0.0.1'));
    assert.ok(!new X509Certificate(pki.otherHostServerCert).checkHost('localhost'));
  });

  it('backdates the expired certificates', () => {
    const now = Date.now();
    assert.ok(Date.parse(new X509Certificate(pki.expiredServerCert).validTo) < now);
    assert.ok(Date.parse(new X509Certificate(pki.expiredClientCert).validTo) < now);
    assert.ok(Date.parse(new X509Certificate(pki.serverCert).validTo) > now);
  });

  it('pairs each certificate with its key', () => {
    const server = new X509Certificate(pki.serverCert);
    assert.ok(server.checkPrivateKey(createPrivateKey(pki.serverKey)));
    assert.ok(!server.checkPrivateKey(createPrivateKey(pki.clientKey)));
    assert.strictEqual(fs.readFileSync(pki.files.clientCert).toString(), pki.clientCert.toString());
  });
});
