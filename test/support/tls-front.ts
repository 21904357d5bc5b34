/**
 * A TLS front door for the Temporal dev server, for tests. `temporal server start-dev` (temporal
 * CLI 1.9.1) has no TLS flags, so the test's TLS endpoint is this: a real TLS server (node:tls)
 * with the test CA's server certificate that requires a client certificate signed by that CA
 * (mutual TLS, as a self-hosted cluster with `requireClientAuth` or Temporal Cloud's mTLS
 * namespaces do), offers HTTP/2 by ALPN, and relays the decrypted gRPC stream to the dev server's
 * plaintext port. Clients see exactly what they would see at a TLS frontend: the handshake, the
 * server name check and the client-certificate check all happen for real.
 */
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import type { TestPki } from './tls-certs';

/** A running front: its address, and what it saw. */
export interface TlsFront {
  address: string;
  /** Handshakes that completed with a verified client certificate: the client certificate's subject CN of each. */
  authorized: string[];
  /** Connections refused during the handshake (no client certificate, unknown CA, …): the reason of each. */
  refused: string[];
  close(): Promise<void>;
}

/** Starts a mutual-TLS front on 127.0.0.1 (a free port) relaying to `upstream` (host:port, plaintext). */
export async function startTlsFront(pki: TestPki, upstream: string): Promise<TlsFront> {
  const [host, port] = [
    upstream.slice(0, upstream.lastIndexOf(':')),
    Number(upstream.slice(upstream.lastIndexOf(':') + 1)),
  ];
  const sockets = new Set<Socket>();
  const authorized: string[] = [];
  const refused: string[] = [];
  const server = createServer(
    {
      cert: await readFile(pki.serverCert),
      key: await readFile(pki.serverKey),
      ca: await readFile(pki.caCert),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client: TLSSocket) => {
      authorized.push(String(client.getPeerCertificate().subject?.CN ?? '?'));
      const up = connect(port, host === 'localhost' ? '127.0.0.1' : host);
      for (const s of [client, up]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(up);
      up.pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', (err) => refused.push(err.message));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: own } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${own}`,
    authorized,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
