import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';
import { repoRoot } from '../support/shared-fixtures';

// There is no Docker engine here, so the compose file is checked as data: pins, ports, references.
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  command?: string | string[];
}
const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;

describe('docker-compose.yml', () => {
  it('has PostgreSQL, the schema setup, the Temporal server, the namespace step, the UI and the driftplane worker', () => {
    expect(Object.keys(services).sort()).toEqual(['driftplane-worker', 'grafana', 'postgresql', 'prometheus', 'serve', 'temporal', 'temporal-admin-tools', 'temporal-create-namespace', 'temporal-ui']);
  });

  it.each(Object.entries(services))('pins the image of %s to a version, never latest', (_name, s) => {
    expect(s.image).toBeDefined();
    const [, tag] = s.image!.split(':');
    expect(tag).toMatch(/^v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$/);
  });

  it('uses a Temporal UI with the Update action (2.35 or later)', () => {
    const [major, minor] = services['temporal-ui']!.image!.split(':')[1]!.split('.').map(Number);
    expect(major! > 2 || (major === 2 && minor! >= 35)).toBe(true);
  });

  it('uses the same Temporal version for server and admin tools', () => {
    const v = (n: string) => services[n]!.image!.split(':')[1];
    expect(v('temporal-admin-tools')).toBe(v('temporal'));
    expect(v('temporal-create-namespace')).toBe(v('temporal'));
  });

  it('orders start-up: database healthy → schema set up → server healthy → namespace → worker', () => {
    expect(services['temporal-admin-tools']!.depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(services.temporal!.depends_on).toEqual({ 'temporal-admin-tools': { condition: 'service_completed_successfully' } });
    expect(services['temporal-create-namespace']!.depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(services['driftplane-worker']!.depends_on).toEqual({ 'temporal-create-namespace': { condition: 'service_completed_successfully' } });
    expect(services.serve!.depends_on).toEqual({ 'temporal-create-namespace': { condition: 'service_completed_successfully' } });
    for (const s of Object.values(services)) for (const dep of Object.keys(s.depends_on ?? {})) expect(services).toHaveProperty(dep);
  });

  it('exposes the frontend on 7233 and the UI on 8080, and points everything at the server by service name', () => {
    expect(services.temporal!.ports).toEqual(['7233:7233']);
    expect(services['temporal-ui']!.ports).toEqual(['8080:8080']);
    for (const n of ['temporal-ui', 'temporal-create-namespace', 'driftplane-worker', 'serve']) expect(services[n]!.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services.temporal!.environment?.POSTGRES_SEEDS).toBe('postgresql');
  });

  it('mounts files that exist, builds the worker from the Dockerfile, and declares its volumes', () => {
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const [src] = v.split(':');
        if (src!.startsWith('./')) expect(existsSync(path.join(repoRoot, src!))).toBe(true);
        else expect(compose.volumes).toHaveProperty(src!);
      }
    }
    expect(services['driftplane-worker']!.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(existsSync(path.join(repoRoot, 'Dockerfile'))).toBe(true);
    expect(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')).toMatch(/^FROM node:20\.\d+\.\d+-/m);
    // `serve` runs the worker's image (compiled, in dist/), and binds beyond loopback only there. Whether the image
    // holds what the worker and `serve` need is proven by starting them from it: test/e2e/dist-start.test.ts.
    expect(services.serve!.image).toBe(services['driftplane-worker']!.image);
    expect(services.serve!.command).toEqual(['node', 'dist/bin/driftplane.cjs', 'serve', '--host', '0.0.0.0']);
    // The worker and `serve` are separate processes: they share a PostgreSQL ledger, never a PGlite folder.
    for (const n of ['driftplane-worker', 'serve']) expect(services[n]!.environment?.DRIFTPLANE_LEDGER_URL).toMatch(/^postgres:\/\/[^@]+@postgresql:5432\/driftplane$/);
    expect(readFileSync(path.join(repoRoot, 'deploy/temporal/setup-postgres.sh'), 'utf8')).toMatch(/--db driftplane create/);
  });

  it('registers every driftplane search attribute in the namespace step', () => {
    const script = readFileSync(path.join(repoRoot, 'deploy', 'temporal', 'create-namespace.sh'), 'utf8');
    for (const k of SEARCH_ATTRIBUTE_KEYS) expect(script).toContain(k.name);
  });
});
