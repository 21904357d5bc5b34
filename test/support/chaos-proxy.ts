import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on a fixed 127.0.0.1 port in front of a server (moto), that a test can take down and
 * bring back on the same port. Down, the port is closed: a client's connect is refused
 * (ECONNREFUSED) and open connections are reset, which is what an unreachable AWS endpoint looks
 * like to the SDK. The server behind it keeps running with its state, as AWS does when the network
 * between a worker and AWS fails.
 */
export interface Relay {
  endpoint: string;
  port: number;
  /** Closes the port and resets every open connection. */
  down(): Promise<void>;
  /** Listens on the same port again. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a relay on a free port to `targetPort` on 127.0.0.1. */
export async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => undefined);
        }
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const addr = s.address();
        if (addr && typeof addr === 'object') port = addr.port;
        server = s;
        resolve();
      });
    });

  const down = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const sock of sockets) sock.resetAndDestroy();
    await closed;
  };

  await listen();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    down,
    up: () => (server ? Promise.resolve() : listen()),
    close: down,
  };
}
