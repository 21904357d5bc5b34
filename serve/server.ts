import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * One endpoint family of `driftplane serve` (health, Slack, later GitHub, dashboard, metrics): a
 * name and a function that adds its routes. Each registers inside its own Fastify plugin scope, so
 * a body parser or hook of one (Slack keeps raw bytes for its signature check) never leaks into
 * another.
 */
export interface ServeModule {
  name: string;
  register(app: FastifyInstance): void | Promise<void>;
}

/** Where the server listens. */
export interface ListenOptions {
  host: string;
  port: number;
}

/** A listening server. */
export interface RunningServer {
  app: FastifyInstance;
  /** `http://host:port`, with the port actually bound (0 asks for any free port). */
  url: string;
  close(): Promise<void>;
}

/** Builds the Fastify app with every module registered (not listening yet: tests may `inject`). */
export async function buildServer(
  modules: readonly ServeModule[],
  opts: { bodyLimit?: number; log?: Logger } = {},
): Promise<FastifyInstance> {
  // Fastify's own request logging is off: a log line may carry a header or body, and Slack bodies hold response URLs.
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 1024 * 1024, return503OnClosing: true });
  if (opts.log) {
    const log = opts.log;
    // One line per request: the route pattern (never ids, query strings such as OIDC codes, headers or bodies), status, time.
    app.addHook('onResponse', async (req, reply) => {
      log.info({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, durationMs: Math.round(reply.elapsedTime) }, 'request');
    });
  }
  for (const m of modules) {
    await app.register(async (scope) => {
      await m.register(scope);
    });
  }
  return app;
}

/** Builds and starts the server. */
export async function startServer(
  modules: readonly ServeModule[],
  listen: ListenOptions,
  opts: { log?: Logger } = {},
): Promise<RunningServer> {
  const app = await buildServer(modules, opts.log ? { log: opts.log } : {});
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { app, url: `http://${host}:${port}`, close: () => app.close() };
}
