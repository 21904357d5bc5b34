import type { ServeModule } from './server';

/** `GET /healthz`: the process is up and serving. It does not call Temporal: a probe must not fail with it. */
export const healthModule: ServeModule = {
  name: 'health',
  register(app) {
    app.get('/healthz', async () => ({ status: 'ok' }));
  },
};
