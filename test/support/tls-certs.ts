/**
 * Self-signed certificates for TLS tests, made by the real `openssl` on the machine: a CA, a server
 * certificate it signs (DNS:localhost, IP:127.0.0.1) and a client certificate for mutual TLS. EC
 * P-256 keys in PKCS#8, which both Temporal clients read (grpc-js for the client, rustls in Core for
 * the worker). Nothing here is secret outside the test's temporary folder.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The files of a test PKI, by path. */
export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Issues a key and a certificate signed by the CA, with the given extensions. */
async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  ca: { cert: string; key: string },
  serial: string,
): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  const ext = path.join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await run('openssl', ['req', ...EC, '-keyout', key, '-out', csr, '-subj', subject]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    serial,
    '-days',
    '2',
    '-out',
    cert,
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

/** Makes a fresh CA, server and client certificate in a temporary folder. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-pki-'));
  const caCert = path.join(dir, 'ca.pem');
  const caKey = path.join(dir, 'ca.key');
  await run('openssl', [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '2',
    '-subj',
    '/CN=driftplane test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = { cert: caCert, key: caKey };
  const server = await issue(
    dir,
    'server',
    '/CN=localhost',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
    ca,
    '2',
  );
  const client = await issue(
    dir,
    'client',
    '/CN=driftplane-worker',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    ca,
    '3',
  );
  return {
    dir,
    caCert,
    caKey,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
  };
}
