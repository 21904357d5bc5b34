/**
 * Ledger databases for tests: a fresh database on the machine's real PostgreSQL server (workflow
 * tests, the PostgreSQL half of the ledger suite) or PGlite in memory (the embedded half).
 * DRIFTPLANE_TEST_POSTGRES_URL names the server (default: trust auth on 127.0.0.1:5432).
 */
import pg from 'pg';

/** The maintenance database URL tests create their databases through. */
export const TEST_POSTGRES_URL = process.env.DRIFTPLANE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let counter = 0;

/** The URL of `name` on the test server. */
function urlOf(name: string): string {
  const u = new URL(TEST_POSTGRES_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs one statement on the maintenance database. */
async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')} (${(err as Error).message}); ` +
        "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    );
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Creates an empty database for one test (file) and returns its URL. Names carry the process id;
 * {@link dropLeftoverDatabases} removes those of processes that are gone.
 */
export async function freshPostgresUrl(): Promise<string> {
  const name = `dp_t_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return urlOf(name);
}

/** Drops a database made by {@link freshPostgresUrl} (its connections are closed first). */
export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!/^dp_t_\d+_\d+_[a-z0-9]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Drops the test databases of processes that no longer run (left by earlier, killed runs). */
export async function dropLeftoverDatabases(): Promise<number> {
  return admin(async (c) => {
    const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'dp\\_t\\_%'");
    let dropped = 0;
    for (const { datname } of rows) {
      const pid = Number(/^dp_t_(\d+)_/.exec(datname)?.[1]);
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
      if (!alive) {
        await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
        dropped++;
      }
    }
    return dropped;
  });
}

/** The two engines every ledger test runs on: `describe.each(LEDGER_ENGINES)`; `url()` gives a fresh, empty ledger. */
export const LEDGER_ENGINES: { engine: 'pglite' | 'postgres'; url: () => Promise<string> }[] = [
  { engine: 'pglite', url: async () => 'pglite:memory' },
  { engine: 'postgres', url: freshPostgresUrl },
];
