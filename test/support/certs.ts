// Test PKI for TLS and mutual-TLS tests of P4Runtime servers and clients, made with the openssl CLI.
//
// Everything is issued fresh into a directory the caller owns (normally a mkdtemp folder removed
// after the tests). Keys are P-256 so that generation takes milliseconds. Certificates meant for a
// server name both localhost and 127.0.0.1 in their subjectAltName, since TLS clients check the SAN,
// not the subject CN.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface TestPki {
  /** The trusted root, PEM. */
  ca: Buffer;
  /** Server certificate (SAN localhost, 127.0.0.1; serverAuth) issued by `ca`, and its key. */
  serverCert: Buffer;
  serverKey: Buffer;
  /** Client certificate (CN nicguard-controller; clientAuth) issued by `ca`, and its key. */
  clientCert: Buffer;
  clientKey: Buffer;
  /** An unrelated root: trusting it instead of `ca` must make verification fail. */
  wrongCa: Buffer;
  /** A client certificate issued by `wrongCa`: a server trusting `ca` must refuse it. */
  wrongClientCert: Buffer;
  wrongClientKey: Buffer;
  /** A server certificate issued by `ca` whose validity ended in 2020. */
  expiredServerCert: Buffer;
  expiredServerKey: Buffer;
  /** A client certificate issued by `ca` whose validity ended in 2020. */
  expiredClientCert: Buffer;
  expiredClientKey: Buffer;
  /** A server certificate issued by `ca` for another host only (SAN DNS:other.invalid). */
  otherHostServerCert: Buffer;
  otherHostServerKey: Buffer;
  /** The file each PEM above was written to, by the same property name. */
  files: Record<Exclude<keyof TestPki, 'files'>, string>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string): string {
  const file = path.join(dir, `${name}.key`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], dir);
  return file;
}

function selfSignedCa(dir: string, name: string, cn: string): { cert: string; key: string } {
  const key = newKey(dir, name);
  const cert = path.join(dir, `${name}.pem`);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-out',
      cert,
      '-days',
      '3650',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { cert, key };
}

interface LeafRequest {
  name: string;
  cn: string;
  usage: 'serverAuth' | 'clientAuth';
  san?: string;
  /** Validity window in the past (openssl `ca` date format), for expired certificates. */
  expired?: boolean;
}

function extensions(req: LeafRequest): string {
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${req.usage}`,
  ];
  if (req.san) lines.push(`subjectAltName=${req.san}`);
  return lines.join('\n') + '\n';
}

function issue(
  dir: string,
  issuer: { cert: string; key: string },
  req: LeafRequest,
): { cert: string; key: string } {
  const key = newKey(dir, req.name);
  const csr = path.join(dir, `${req.name}.csr`);
  const cert = path.join(dir, `${req.name}.pem`);
  const ext = path.join(dir, `${req.name}.ext`);
  fs.writeFileSync(ext, extensions(req));
  openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${req.cn}`], dir);
  if (!req.expired) {
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        issuer.cert,
        '-CAkey',
        issuer.key,
        '-CAcreateserial',
        '-out',
        cert,
        '-days',
        '825',
        '-sha256',
        '-extfile',
        ext,
      ],
      dir,
    );
    return { cert, key };
  }
  // `openssl x509` (3.0) cannot back-date a certificate; `openssl ca` takes explicit dates but
  // wants its own small database.
  const caDir = path.join(dir, `${req.name}-ca`);
  fs.mkdirSync(path.join(caDir, 'certs'), { recursive: true });
  fs.writeFileSync(path.join(caDir, 'index.txt'), '');
  fs.writeFileSync(path.join(caDir, 'serial'), '1000\n');
  const conf = path.join(caDir, 'ca.cnf');
  fs.writeFileSync(
    conf,
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${path.join(caDir, 'index.txt')}`,
      `new_certs_dir = ${path.join(caDir, 'certs')}`,
      `serial = ${path.join(caDir, 'serial')}`,
      'default_md = sha256',
      'policy = any_policy',
      'unique_subject = no',
      '[any_policy]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      conf,
      '-cert',
      issuer.cert,
      '-keyfile',
      issuer.key,
      '-in',
      csr,
      '-out',
      cert,
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20200201000000Z',
      '-extfile',
      ext,
    ],
    dir,
  );
  return { cert, key };
}

const SERVER_SAN = 'DNS:localhost,IP:127.0.0.1';

/** Issues a complete test PKI into `dir` (which must exist) with the openssl CLI. Synchronous. */
export function makeTestPki(dir: string): TestPki {
  const ca = selfSignedCa(dir, 'ca', 'nicguard test root');
  const wrongCa = selfSignedCa(dir, 'wrong-ca', 'unrelated test root');
  const server = issue(dir, ca, { name: 'server', cn: 'softnic', usage: 'serverAuth', san: SERVER_SAN });
  const client = issue(dir, ca, { name: 'client', cn: 'nicguard-controller', usage: 'clientAuth' });
  const wrongClient = issue(dir, wrongCa, { name: 'wrong-client', cn: 'intruder', usage: 'clientAuth' });
  const expiredServer = issue(dir, ca, {
    name: 'expired-server',
    cn: 'softnic',
    usage: 'serverAuth',
    san: SERVER_SAN,
    expired: true,
  });
  const expiredClient = issue(dir, ca, {
    name: 'expired-client',
    cn: 'nicguard-controller',
    usage: 'clientAuth',
    expired: true,
  });
  const otherHost = issue(dir, ca, {
    name: 'other-host',
    cn: 'other',
    usage: 'serverAuth',
    san: 'DNS:other.invalid',
  });
  const files = {
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    wrongCa: wrongCa.cert,
    wrongClientCert: wrongClient.cert,
    wrongClientKey: wrongClient.key,
    expiredServerCert: expiredServer.cert,
    expiredServerKey: expiredServer.key,
    expiredClientCert: expiredClient.cert,
    expiredClientKey: expiredClient.key,
    otherHostServerCert: otherHost.cert,
    otherHostServerKey: otherHost.key,
  };
  const read = (f: string) => fs.readFileSync(f);
  return {
    ca: read(files.ca),
    serverCert: read(files.serverCert),
    serverKey: read(files.serverKey),
    clientCert: read(files.clientCert),
    clientKey: read(files.clientKey),
    wrongCa: read(files.wrongCa),
    wrongClientCert: read(files.wrongClientCert),
    wrongClientKey: read(files.wrongClientKey),
    expiredServerCert: read(files.expiredServerCert),
    expiredServerKey: read(files.expiredServerKey),
    expiredClientCert: read(files.expiredClientCert),
    expiredClientKey: read(files.expiredClientKey),
    otherHostServerCert: read(files.otherHostServerCert),
    otherHostServerKey: read(files.otherHostServerKey),
    files,
  };
}
