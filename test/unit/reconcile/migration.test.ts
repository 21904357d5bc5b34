import { describe, expect, it } from 'vitest';
import { migrationSkeleton, MigrationPathError, type MigrationInput } from '../../../domain/reconcile/migration';

const base: MigrationInput = {
  findingId: 'checkout-db-prod:7d41be0c559f3c2a',
  unit: 'checkout-db-prod',
  resourceRef: 'table/public.orders',
  changedFields: [
    { path: '/indexes/orders_created_at_idx', kind: 'added', actual: 'CREATE INDEX orders_created_at_idx ON public.orders (created_at)' },
    { path: '/columns/note/type', kind: 'changed', desired: 'varchar(200)', actual: 'text\n-- DROP TABLE orders;' },
  ],
  driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
  now: new Date('2026-07-03T10:15:00.123Z'),
  migrationsPath: 'db/migrations/',
  unitDomain: 'database',
};

describe('migrationSkeleton (§18)', () => {
  it('names a SQL file by UTC timestamp and short fingerprint for a database unit', () => {
    const m = migrationSkeleton(base);
    expect(m.path).toBe('db/migrations/20260703101500_driftplane_7d41be0c.sql');
    expect(m.content.split('\n')[0]).toBe('-- driftplane migration plan skeleton. NEVER APPLIED AUTOMATICALLY (domain text §18).');
    expect(m.content).toContain('-- Finding:     checkout-db-prod:7d41be0c559f3c2a');
    expect(m.content).toContain('-- Drift class: UNAUTHORIZED_RUNTIME_DRIFT');
    expect(m.content).toContain('--   /indexes/orders_created_at_idx  added  desired: (absent)  actual: "CREATE INDEX orders_created_at_idx ON public.orders (created_at)"');
    expect(m.content).toContain('-- TODO(forward): /columns/note/type (changed)');
    expect(m.content).toContain('-- TODO(backward): /columns/note/type (changed)');
    expect(m.content).toContain("RAISE EXCEPTION 'driftplane migration skeleton: complete the TODOs before applying'");
  });

  it('keeps every detected value inside its comment (a newline cannot start a statement)', () => {
    const m = migrationSkeleton(base);
    const statements = m.content.split('\n').filter((l) => l !== '' && !l.startsWith('--'));
    expect(statements).toEqual(["DO $$ BEGIN RAISE EXCEPTION 'driftplane migration skeleton: complete the TODOs before applying'; END $$;"]);
  });

  it('writes a Markdown plan for other units', () => {
    const m = migrationSkeleton({ ...base, unitDomain: 'storage', migrationsPath: 'plans' });
    expect(m.path).toBe('plans/20260703101500_driftplane_7d41be0c.md');
    expect(m.content).toContain('**Never applied automatically**');
    expect(m.content).toContain('| `/columns/note/type` | changed | `"varchar(200)"` | `"text\\n-- DROP TABLE orders;"` |');
    expect(m.content).toContain('## Forward steps');
    expect(m.content).toContain('## Backward steps');
    expect(m.content).toContain('- [ ] TODO: undo the forward step for `/indexes/orders_created_at_idx` without losing data');
  });

  it('is deterministic', () => {
    expect(migrationSkeleton(base)).toEqual(migrationSkeleton({ ...base }));
  });

  it.each(['/etc', '../outside', 'db/../../x', ''])('refuses the migrations path %j', (p) => {
    expect(() => migrationSkeleton({ ...base, migrationsPath: p })).toThrow(MigrationPathError);
  });
});
