import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IncidentFileInvalid,
  incidentContextSource,
  incidentSourceFromEnv,
  listPagerDutyIncidents,
  loadIncidentFile,
  PAGERDUTY_ACCEPT,
} from '../../../activities/context/incidents';
import { joinContext, withContext } from '../../../activities/context/source';
import { buildRegistry } from '../../../domain/registry/model';
import { actor, classifyObservation, firedRules, observation, unitOf } from '../../unit/context/support';

const registry = buildRegistry([], 'sha256:test');
const shopProd = unitOf('shop-web-prod', { type: 'argocd-app', environment: 'prod', riskTier: 'high', domain: 'app', approvers: ['x'], labels: { 'pagerduty-service': 'PSHOP01' } });
const shopStaging = unitOf('shop-web-staging', { type: 'argocd-app', environment: 'staging', domain: 'app', labels: { 'pagerduty-service': 'PSHOP02' } });
const unlabelled = unitOf('billing', { type: 'argocd-app', environment: 'prod', riskTier: 'high', domain: 'app', approvers: ['x'] });

const at = (detectedAt: string, unit = 'shop-web-prod') =>
  observation({ unit, detectedAt, resourceRef: 'Deployment/shop/web', resourceType: 'Deployment', diff: [{ path: '/spec/template/spec/containers/0/env/0/value', kind: 'changed', desired: 'a', actual: 'b' }] });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'driftplane-incidents-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('the incident file (embedded default)', () => {
  const FILE = `# incidents the on-call keeps while PagerDuty is not wired
incidents:
  - id: INC-101
    status: open
    units: [shop-web-prod]
    startedAt: 2026-11-24T10:00:00Z
    title: checkout 500s
  - id: INC-099
    status: resolved
    services: [PSHOP02]
    startedAt: 2026-11-20T08:00:00Z
    resolvedAt: 2026-11-22T09:00:00Z
  - id: INC-050
    status: resolved
    environments: [prod]
    startedAt: 2026-10-01
    resolvedAt: 2026-10-02
`;

  it('an incident open at detection covers the units it names: { incident }, and a human change is EMERGENCY_DRIFT', async () => {
    const source = incidentContextSource({ kind: 'file', path: write('incidents.yaml', FILE) });
    const before = at('2026-11-24T09:59:59.000Z');
    const during = { ...at('2026-11-24T11:30:00.000Z'), auditCorrelation: actor('human') };
    const patches = await source.contextFor({ unit: shopProd, registry, observations: [before, during], now: new Date('2026-11-24T12:00:00Z') });
    expect(patches).toEqual([undefined, { incident: { id: 'INC-101', status: 'open' } }]);
    const d = classifyObservation(withContext(during, patches[1]), shopProd);
    expect(d.driftClass).toBe('EMERGENCY_DRIFT');
    expect(d.recommendedAction).toBe('OPEN_RECONCILIATION_PR');
    expect(firedRules(d)).toContain('emergency-open-incident');
    // Without the incident the same human change is unauthorized.
    expect(classifyObservation(during, shopProd).driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
  });

  it('a resolved incident on the unit’s service counts within the window (3 days), not after it', async () => {
    const source = incidentContextSource({ kind: 'file', path: write('incidents.yaml', FILE) });
    const observations = [at('2026-11-21T12:00:00.000Z', 'shop-web-staging'), at('2026-11-24T12:00:00.000Z', 'shop-web-staging'), at('2026-11-25T09:00:01.000Z', 'shop-web-staging')];
    const patches = await source.contextFor({ unit: shopStaging, registry, observations, now: new Date('2026-11-26T00:00:00Z') });
    expect(patches).toEqual([{ incident: { id: 'INC-099', status: 'open' } }, { incident: { id: 'INC-099', status: 'resolved' } }, undefined]);
    const d = classifyObservation(withContext({ ...observations[1]!, auditCorrelation: actor('human') }, patches[1]), shopStaging);
    expect([d.driftClass, firedRules(d).includes('emergency-reconcile-window')]).toEqual(['EMERGENCY_DRIFT', true]);
  });

  it('JSON works as well (a plain list)', async () => {
    const p = write('incidents.json', JSON.stringify([{ id: 'PD-7', status: 'open', environments: ['prod'], startedAt: '2026-11-24T00:00:00Z' }]));
    expect(await loadIncidentFile(p)).toEqual([{ id: 'PD-7', status: 'open', environments: ['prod'], startedAt: '2026-11-24T00:00:00Z' }]);
    const source = incidentContextSource({ kind: 'file', path: p });
    expect(await source.contextFor({ unit: shopProd, registry, observations: [at('2026-11-24T11:00:00.000Z')], now: new Date() })).toEqual([{ incident: { id: 'PD-7', status: 'open' } }]);
    expect(await source.contextFor({ unit: shopStaging, registry, observations: [at('2026-11-24T11:00:00.000Z')], now: new Date() })).toEqual([undefined]);
  });

  it('a bad file is an error naming the file, the line and the field of each problem', async () => {
    const text = `incidents:
  - id: INC-1
    status: open
    startedAt: 2026-11-24T10:00:00Z
  - id: INC-2
    status: closed
    startedAt: 2026-11-24T10:00:00Z
  - id: INC-3
    status: open
    startedAt: yesterday
    servics: [P1]
  - id: INC-1
    status: resolved
    startedAt: 2026-11-24T10:00:00Z
    resolvedAt: 2026-11-23T10:00:00Z
`;
    const p = write('bad.yaml', text);
    const err = (await loadIncidentFile(p).catch((e: unknown) => e)) as IncidentFileInvalid;
    expect(err).toBeInstanceOf(IncidentFileInvalid);
    const byField = Object.fromEntries(err.problems.map((x) => [x.field, x]));
    expect(byField['/incidents/1/status']).toMatchObject({ file: p, line: 6, message: expect.stringContaining('expected one of: open, resolved, got "closed"') });
    expect(byField['/incidents/2/startedAt']).toMatchObject({ file: p, line: 10 });
    expect(byField['/incidents/2/servics']).toMatchObject({ file: p, line: 11, message: expect.stringContaining('did you mean services?') });
    expect(byField['/incidents/3/id']).toMatchObject({ line: 12, message: expect.stringContaining('duplicate incident id "INC-1"') });
    expect(byField['/incidents/3/resolvedAt']).toMatchObject({ line: 15, message: expect.stringContaining('before startedAt') });
    expect(err.message).toContain(`${p}:6:13 /incidents/1/status: expected one of: open, resolved`);

    // Joined: the source is named as unjoined on every observation, never read as "no incident".
    const [o] = await joinContext([incidentContextSource({ kind: 'file', path: p })], { unit: shopProd, registry, observations: [at('2026-11-24T11:00:00.000Z')], now: new Date() });
    expect(o?.context?.incident).toBeUndefined();
    expect(o?.context?.unjoined).toEqual([expect.stringContaining(`incidents:file: incident file ${p} is invalid (5 problem(s)): ${p}:6:13 /incidents/1/status`)]);
  });

  it('YAML syntax errors, a wrong top level and a missing file are named too', async () => {
    const syntax = write('syntax.yaml', 'incidents:\n  - id: A\n    status: [open\n');
    await expect(loadIncidentFile(syntax)).rejects.toThrow(new RegExp(`${syntax}:\\d+(:\\d+)? /: YAML syntax error`));
    const top = write('top.yaml', 'incidents:\n  - id: A\n    status: open\n    startedAt: 2026-11-24\nextra: 1\n');
    await expect(loadIncidentFile(top)).rejects.toThrow(`${top}:5:1 /extra: unknown field "extra"`);
    const scalar = write('scalar.yaml', 'just text\n');
    await expect(loadIncidentFile(scalar)).rejects.toThrow('expected a list of incidents or a mapping with an incidents list');
    await expect(loadIncidentFile(path.join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml cannot be read: ENOENT/);
  });
});

// ------------------------------------------------------------------ PagerDuty-shaped REST API

const TOKEN = 'u+pd_test_token_abcdef123456';
/** The query parameters PagerDuty documents for GET /incidents (PagerDuty/api-schema reference/REST/openapiv3.json, listIncidents). */
const DOCUMENTED = ['limit', 'offset', 'total', 'date_range', 'incident_key', 'service_ids[]', 'team_ids[]', 'user_ids[]', 'urgencies[]', 'time_zone', 'statuses[]', 'sort_by', 'include[]', 'since', 'until'];
const STATUSES = ['triggered', 'acknowledged', 'resolved'];

/** An incident object as PagerDuty's REST API documents it (the listIncidents response example's fields). */
function pdIncident(i: { id: string; number: number; status: string; service: string; created: string; resolved?: string; title: string }) {
  return {
    id: i.id,
    type: 'incident',
    summary: `[#${i.number}] ${i.title}`,
    self: `https://api.pagerduty.com/incidents/${i.id}`,
    html_url: `https://acme.pagerduty.com/incidents/${i.id}`,
    incident_number: i.number,
    title: i.title,
    created_at: i.created,
    updated_at: i.resolved ?? i.created,
    status: i.status,
    incident_key: `key-${i.id}`,
    service: { id: i.service, type: 'service_reference', summary: `service ${i.service}`, self: `https://api.pagerduty.com/services/${i.service}`, html_url: `https://acme.pagerduty.com/service-directory/${i.service}` },
    assignments: [],
    assigned_via: 'escalation_policy',
    last_status_change_at: i.resolved ?? i.created,
    resolved_at: i.resolved ?? null,
    alert_counts: { all: 1, triggered: i.status === 'resolved' ? 0 : 1, resolved: i.status === 'resolved' ? 1 : 0 },
    is_mergeable: true,
    urgency: 'high',
  };
}

const INCIDENTS = [
  pdIncident({ id: 'Q1ACK', number: 1201, status: 'acknowledged', service: 'PSHOP01', created: '2026-11-24T10:05:00Z', title: 'Checkout error rate above 5%' }),
  pdIncident({ id: 'Q0OLD', number: 1100, status: 'resolved', service: 'PSHOP01', created: '2026-11-02T10:00:00Z', resolved: '2026-11-02T12:00:00Z', title: 'Old outage' }),
  pdIncident({ id: 'Q2TRG', number: 1202, status: 'triggered', service: 'POTHER', created: '2026-11-24T09:00:00Z', title: 'Other team' }),
  pdIncident({ id: 'Q3RES', number: 1190, status: 'resolved', service: 'PSHOP02', created: '2026-11-22T08:00:00Z', resolved: '2026-11-23T08:00:00Z', title: 'Staging DB' }),
];

interface Seen {
  method?: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

/** PagerDuty's GET /incidents on 127.0.0.1: checks method, path, documented query parameters and the token; filters and pages like the API. */
async function startPagerDutyRestServer(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    seen.push({ method: req.method, path: u.pathname, query: u.searchParams, headers: req.headers });
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const invalid = (errors: string[]) => reply(400, { error: { message: 'Invalid Input Provided', code: 2001, errors } });
    if (req.method !== 'GET' || u.pathname !== '/incidents') return reply(404, { error: { message: 'Not Found', code: 2100 } });
    if (req.headers.authorization !== `Token token=${TOKEN}`) return reply(401, { error: { message: 'Unauthorized', code: 2006 } });
    if (req.headers.accept !== PAGERDUTY_ACCEPT) return invalid(['Accept must be application/vnd.pagerduty+json;version=2']);
    const errors: string[] = [];
    for (const k of u.searchParams.keys()) if (!DOCUMENTED.includes(k)) errors.push(`${k} is not a documented parameter`);
    const statuses = u.searchParams.getAll('statuses[]');
    for (const s of statuses) if (!STATUSES.includes(s)) errors.push(`Statuses ${s} is invalid`);
    const limit = Number(u.searchParams.get('limit') ?? 25);
    const offset = Number(u.searchParams.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) errors.push('Limit must be between 1 and 100');
    const since = Date.parse(u.searchParams.get('since') ?? '');
    const until = Date.parse(u.searchParams.get('until') ?? '');
    if (Number.isNaN(since) || Number.isNaN(until)) errors.push('since and until must be ISO 8601 dates');
    else if (until - since > 183 * 24 * 3_600_000) errors.push('The maximum range of since and until is 6 months');
    if (errors.length) return invalid(errors);
    const services = u.searchParams.getAll('service_ids[]');
    const matching = INCIDENTS.filter(
      (i) => (statuses.length === 0 || statuses.includes(i.status)) && (services.length === 0 || services.includes(i.service.id)) && Date.parse(i.created_at) >= since && Date.parse(i.created_at) <= until,
    );
    return reply(200, { incidents: matching.slice(offset, offset + limit), limit, offset, more: offset + limit < matching.length, total: null });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

describe('PagerDuty incidents (production source) against a PagerDuty-shaped server on 127.0.0.1', () => {
  let pd: Awaited<ReturnType<typeof startPagerDutyRestServer>>;
  let tokenFile: string;
  beforeAll(async () => {
    pd = await startPagerDutyRestServer();
    tokenFile = write('pd-token', `${TOKEN}\n`);
  });
  afterAll(() => pd.close());

  it('asks GET /incidents for the unit’s service, every status, the window, page by page; an acknowledged incident is open: EMERGENCY_DRIFT', async () => {
    pd.seen.length = 0;
    const source = incidentContextSource({ kind: 'pagerduty', apiUrl: pd.url, token: { file: tokenFile }, pageSize: 1 });
    const now = new Date('2026-11-24T12:00:00Z');
    const during = { ...at('2026-11-24T11:00:00.000Z'), auditCorrelation: actor('human') };
    const patches = await source.contextFor({ unit: shopProd, registry, observations: [at('2026-11-24T10:00:00.000Z'), during], now });
    expect(patches).toEqual([undefined, { incident: { id: 'Q1ACK', status: 'open' } }]);

    // Two incidents of PSHOP01 in the window, one per page.
    expect(pd.seen.map((s) => [s.method, s.path, s.query.get('offset'), s.query.get('limit')])).toEqual([
      ['GET', '/incidents', '0', '1'],
      ['GET', '/incidents', '1', '1'],
    ]);
    const q = pd.seen[0]!.query;
    expect(q.getAll('statuses[]')).toEqual(['triggered', 'acknowledged', 'resolved']);
    expect(q.getAll('service_ids[]')).toEqual(['PSHOP01']);
    expect(q.get('since')).toBe('2026-10-25T10:00:00.000Z');
    expect(q.get('until')).toBe(now.toISOString());
    // Compared as a boolean so that a failure never prints the token.
    expect(pd.seen.every((s) => s.headers.authorization === `Token token=${TOKEN}` && s.headers.accept === PAGERDUTY_ACCEPT)).toBe(true);

    const d = classifyObservation(withContext(during, patches[1]), shopProd);
    expect(d.driftClass).toBe('EMERGENCY_DRIFT');
    expect(firedRules(d)).toContain('emergency-open-incident');
  });

  it('maps PagerDuty incidents: triggered/acknowledged → open, resolved with resolved_at, the service as what it covers', async () => {
    const list = await listPagerDutyIncidents(
      { apiUrl: `${pd.url}/`, token: { env: 'PD_TOKEN_FOR_TEST' }, env: { PD_TOKEN_FOR_TEST: TOKEN } },
      { serviceIds: ['PSHOP01', 'PSHOP02'], since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-11-30T00:00:00Z') },
    );
    expect(list).toEqual([
      { id: 'Q1ACK', status: 'open', services: ['PSHOP01'], startedAt: '2026-11-24T10:05:00Z', title: '#1201 Checkout error rate above 5%' },
      { id: 'Q0OLD', status: 'resolved', services: ['PSHOP01'], startedAt: '2026-11-02T10:00:00Z', resolvedAt: '2026-11-02T12:00:00Z', title: '#1100 Old outage' },
      { id: 'Q3RES', status: 'resolved', services: ['PSHOP02'], startedAt: '2026-11-22T08:00:00Z', resolvedAt: '2026-11-23T08:00:00Z', title: '#1190 Staging DB' },
    ]);
    const source = incidentContextSource({ kind: 'pagerduty', apiUrl: pd.url, token: { file: tokenFile } });
    const staged = await source.contextFor({ unit: shopStaging, registry, observations: [at('2026-11-24T00:00:00.000Z', 'shop-web-staging')], now: new Date('2026-11-24T12:00:00Z') });
    expect(staged).toEqual([{ incident: { id: 'Q3RES', status: 'resolved' } }]);
  });

  it('an old detection never asks for more than PagerDuty’s 6-month range', async () => {
    pd.seen.length = 0;
    const source = incidentContextSource({ kind: 'pagerduty', apiUrl: pd.url, token: { file: tokenFile } });
    const now = new Date('2026-11-24T12:00:00Z');
    expect(await source.contextFor({ unit: shopProd, registry, observations: [at('2025-11-01T00:00:00.000Z')], now })).toEqual([undefined]);
    expect(pd.seen[0]?.query.get('since')).toBe(new Date(now.getTime() - 180 * 24 * 3_600_000).toISOString());
  });

  it('a unit without a pagerduty-service label asks nothing and gets no incident', async () => {
    pd.seen.length = 0;
    const source = incidentContextSource({ kind: 'pagerduty', apiUrl: pd.url, token: { file: tokenFile } });
    expect(await source.contextFor({ unit: unlabelled, registry, observations: [at('2026-11-24T11:00:00.000Z', 'billing')], now: new Date('2026-11-24T12:00:00Z') })).toEqual([undefined]);
    expect(pd.seen).toEqual([]);
  });

  it('a refused token is a clear error that never shows the token; joined, the source is unjoined', async () => {
    const wrong = write('wrong-token', 'not-the-token-xyz');
    const source = incidentContextSource({ kind: 'pagerduty', apiUrl: pd.url, token: { file: wrong } });
    const err = (await source.contextFor({ unit: shopProd, registry, observations: [at('2026-11-24T11:00:00.000Z')], now: new Date('2026-11-24T12:00:00Z') }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('PagerDuty GET /incidents failed: the API token was refused (Unauthorized)');
    expect(err.message).not.toContain('not-the-token-xyz');
    const [o] = await joinContext([source], { unit: shopProd, registry, observations: [at('2026-11-24T11:00:00.000Z')], now: new Date('2026-11-24T12:00:00Z') });
    expect(o?.context?.unjoined).toEqual(['incidents:pagerduty: PagerDuty GET /incidents failed: the API token was refused (Unauthorized)']);
    expect(JSON.stringify(o)).not.toContain('not-the-token-xyz');
  });

  it('a missing token reference, an unreachable API and a non-incident answer are errors, not "no incident"', async () => {
    await expect(listPagerDutyIncidents({ apiUrl: pd.url, token: { env: 'PD_UNSET' }, env: {} }, { serviceIds: ['PSHOP01'], since: new Date(0), until: new Date() })).rejects.toThrow('token variable PD_UNSET is not set');
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    await expect(listPagerDutyIncidents({ apiUrl: `http://127.0.0.1:${port}`, token: { file: tokenFile } }, { serviceIds: ['PSHOP01'], since: new Date('2026-11-01'), until: new Date('2026-11-02') })).rejects.toThrow(/could not be reached/);
    // A range over PagerDuty's 6 months is refused by the API: the error carries its message.
    await expect(listPagerDutyIncidents({ apiUrl: pd.url, token: { file: tokenFile } }, { serviceIds: ['PSHOP01'], since: new Date('2026-01-01'), until: new Date('2026-11-30') })).rejects.toThrow('HTTP 400 (Invalid Input Provided; The maximum range of since and until is 6 months)');
  });
});

describe('incidentSourceFromEnv', () => {
  it('PagerDuty when a token reference is set, else the file, else none; a URL without a token is a configuration error', () => {
    expect(incidentSourceFromEnv({ DRIFTPLANE_PAGERDUTY_TOKEN_FILE: '/run/secrets/pd' })?.name).toBe('incidents:pagerduty');
    expect(incidentSourceFromEnv({ DRIFTPLANE_PAGERDUTY_TOKEN_ENV: 'PD_TOKEN', DRIFTPLANE_PAGERDUTY_API_URL: 'https://api.eu.pagerduty.com' })?.name).toBe('incidents:pagerduty');
    expect(incidentSourceFromEnv({ DRIFTPLANE_INCIDENTS_FILE: '/etc/driftplane/incidents.yaml' })?.name).toBe('incidents:file');
    expect(incidentSourceFromEnv({})).toBeUndefined();
    expect(() => incidentSourceFromEnv({ DRIFTPLANE_PAGERDUTY_API_URL: 'https://api.pagerduty.com' })).toThrow('DRIFTPLANE_PAGERDUTY_TOKEN_FILE or DRIFTPLANE_PAGERDUTY_TOKEN_ENV');
  });
});
