import { readTokenRef } from '../token-ref';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import {
  DEFAULT_RESOLVED_WINDOW_MS,
  IncidentSchema,
  incidentFor,
  pagerDutyServicesOf,
  type Incident,
} from '../../domain/context/incident';
import { joinPointer } from '../../domain/registry/paths';
import type { TokenRef } from '../../domain/registry/schemas';
import { schemaProblems } from '../../domain/registry/zod-issues';
import { locateField } from '../../registry/locate';
import { yamlValue } from '../../registry/yaml-value';
import type { ContextSource } from './source';

/**
 * The incident context source (issue 11 §4, domain text §3 emergency drift, §13): which incident
 * covered a unit when its drift was detected. Two adapters:
 * - the embedded default, a YAML or JSON file of incidents (`DRIFTPLANE_INCIDENTS_FILE`), read
 *   and validated on every detection; an invalid file names its line and field;
 * - production, PagerDuty's REST API (`GET /incidents`, `DRIFTPLANE_PAGERDUTY_API_URL`) with an
 *   API token read from a reference at call time (`Authorization: Token token=…`). A unit is on
 *   PagerDuty services through its `pagerduty-service` label (comma-separated service ids); a unit
 *   without that label is covered by no PagerDuty incident.
 * Either gives `{ incident: { id, status } }`: an incident open at `detectedAt`, or resolved no
 * longer than the resolved window (default 3 days) before it.
 */

/** Where the incident file is read from (the embedded default). */
export const INCIDENTS_FILE_ENV = 'DRIFTPLANE_INCIDENTS_FILE';
/** PagerDuty's REST API base URL (production); `https://api.pagerduty.com` when only a token is configured. */
export const PAGERDUTY_API_URL_ENV = 'DRIFTPLANE_PAGERDUTY_API_URL';
/** A file holding the PagerDuty REST API token (a mounted Secret). */
export const PAGERDUTY_TOKEN_FILE_ENV = 'DRIFTPLANE_PAGERDUTY_TOKEN_FILE';
/** The name of an environment variable holding the PagerDuty REST API token (alternative to the file). */
export const PAGERDUTY_TOKEN_ENV_ENV = 'DRIFTPLANE_PAGERDUTY_TOKEN_ENV';
/** PagerDuty's REST API. */
export const PAGERDUTY_API_URL = 'https://api.pagerduty.com';
/** The Accept header PagerDuty's REST API v2 documents. */
export const PAGERDUTY_ACCEPT = 'application/vnd.pagerduty+json;version=2';

/** One problem in an incident file: where, which field, what is wrong. */
export interface IncidentFileProblem {
  file: string;
  line?: number;
  column?: number;
  /** JSON pointer of the field (`/incidents/1/status`). */
  field: string;
  message: string;
}

/** The incident file cannot be used: every problem names the file, line and field. */
export class IncidentFileInvalid extends Error {
  override readonly name = 'IncidentFileInvalid';
  constructor(
    readonly file: string,
    readonly problems: IncidentFileProblem[],
  ) {
    const first = problems
      .slice(0, 3)
      .map((p) => `${p.file}:${p.line ?? '?'}${p.column ? `:${p.column}` : ''} ${p.field || '/'}: ${p.message}`)
      .join('; ');
    super(`incident file ${file} is invalid (${problems.length} problem(s)): ${first}`);
  }
}

/**
 * Reads and validates an incident file (YAML or JSON): a list of incidents, or `{ incidents: [...] }`.
 * Each incident is `{ id, status: open|resolved, units?, services?, environments?, startedAt,
 * resolvedAt?, title? }`; ids are unique and `resolvedAt` is not before `startedAt`.
 */
export async function loadIncidentFile(file: string): Promise<Incident[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`incident file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new IncidentFileInvalid(
      file,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML syntax error (${e.code}): ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const parsed = yamlValue(doc);
  if (!parsed.ok) throw new IncidentFileInvalid(file, [{ file, line: 1, field: '', message: `YAML error (${parsed.code}): ${parsed.message}` }]);
  const value = parsed.value ?? [];
  const at = (field: string, atKey = false) => {
    const pos = locateField(doc, lineCounter, field, atKey);
    return pos ? { line: pos.line, column: pos.column } : {};
  };

  let list: unknown[];
  let base: (string | number)[];
  if (Array.isArray(value)) {
    list = value;
    base = [];
  } else if (value !== null && typeof value === 'object' && Array.isArray((value as { incidents?: unknown }).incidents)) {
    const extra = Object.keys(value).filter((k) => k !== 'incidents');
    if (extra.length > 0)
      throw new IncidentFileInvalid(file, extra.map((k) => ({ file, ...at(`/${k}`, true), field: `/${k}`, message: `unknown field "${k}" (expected only incidents)` })));
    list = (value as { incidents: unknown[] }).incidents;
    base = ['incidents'];
  } else {
    throw new IncidentFileInvalid(file, [{ file, line: 1, field: '', message: 'expected a list of incidents or a mapping with an incidents list' }]);
  }

  const problems: IncidentFileProblem[] = [];
  const incidents: Incident[] = [];
  const ids = new Map<string, number>();
  list.forEach((raw, i) => {
    const r = IncidentSchema.safeParse(raw);
    if (!r.success) {
      for (const p of schemaProblems(r.error.issues, raw, IncidentSchema)) {
        const field = joinPointer([...base, i, ...p.path]);
        problems.push({ file, ...at(field, p.atKey), field, message: p.message });
      }
      return;
    }
    const inc = r.data;
    const idField = joinPointer([...base, i, 'id']);
    if (ids.has(inc.id)) problems.push({ file, ...at(idField), field: idField, message: `duplicate incident id "${inc.id}" (also entry ${ids.get(inc.id)})` });
    ids.set(inc.id, i);
    if (inc.resolvedAt !== undefined && Date.parse(normalizeInstant(inc.resolvedAt)) < Date.parse(normalizeInstant(inc.startedAt))) {
      const f = joinPointer([...base, i, 'resolvedAt']);
      problems.push({ file, ...at(f), field: f, message: `resolvedAt ${inc.resolvedAt} is before startedAt ${inc.startedAt}` });
    }
    incidents.push(inc);
  });
  if (problems.length > 0) throw new IncidentFileInvalid(file, problems);
  return incidents;
}

function normalizeInstant(v: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
}

/** Reads a token from its reference at call time. The value is never logged or put in an error. */
export { readTokenRef } from '../token-ref';

/** One incident as PagerDuty's REST API returns it (the fields read here; others are ignored). */
export interface PagerDutyIncident {
  id: string;
  incident_number?: number;
  title?: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  service?: { id: string; summary?: string };
  created_at: string;
  resolved_at?: string | null;
}

/** Maps a PagerDuty incident to ours: triggered and acknowledged are open; the service is what it covers. */
export function fromPagerDuty(pd: PagerDutyIncident): Incident {
  return {
    id: pd.id,
    status: pd.status === 'resolved' ? 'resolved' : 'open',
    ...(pd.service?.id ? { services: [pd.service.id] } : {}),
    startedAt: pd.created_at,
    ...(pd.resolved_at ? { resolvedAt: pd.resolved_at } : {}),
    ...(pd.title ? { title: pd.incident_number !== undefined ? `#${pd.incident_number} ${pd.title}` : pd.title } : {}),
  };
}

function isPagerDutyIncident(v: unknown): v is PagerDutyIncident {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.id === 'string' &&
    o.id.length > 0 &&
    (o.status === 'triggered' || o.status === 'acknowledged' || o.status === 'resolved') &&
    typeof o.created_at === 'string' &&
    !Number.isNaN(Date.parse(o.created_at)) &&
    (o.resolved_at === undefined || o.resolved_at === null || (typeof o.resolved_at === 'string' && !Number.isNaN(Date.parse(o.resolved_at))))
  );
}

/** PagerDuty's REST API answered with an error or something that is not a list of incidents. */
export class PagerDutyQueryFailed extends Error {
  override readonly name = 'PagerDutyQueryFailed';
  constructor(
    readonly httpStatus: number | undefined,
    detail: string,
  ) {
    super(`PagerDuty GET /incidents failed: ${detail}`);
  }
}

/** Options of the PagerDuty incident reader. */
export interface PagerDutyIncidentsOptions {
  /** The REST API base URL (default https://api.pagerduty.com). */
  apiUrl?: string;
  /** Where the REST API token is read from at call time. */
  token: TokenRef;
  env?: NodeJS.ProcessEnv;
  /** Page size (PagerDuty's maximum is 100). */
  pageSize?: number;
  /** At most this many pages are read; more is an error, never a silently short list. Default 20. */
  maxPages?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Lists the incidents of the given services created in [since, until] (every status), page by
 * page (`limit`/`offset` until `more` is false).
 */
export async function listPagerDutyIncidents(
  opts: PagerDutyIncidentsOptions,
  q: { serviceIds: readonly string[]; since: Date; until: Date },
): Promise<Incident[]> {
  const token = await readTokenRef(opts.token, opts.env);
  const base = (opts.apiUrl ?? PAGERDUTY_API_URL).replace(/\/+$/, '');
  const limit = Math.min(100, Math.max(1, opts.pageSize ?? 100));
  const maxPages = opts.maxPages ?? 20;
  const doFetch = opts.fetch ?? fetch;
  const out: Incident[] = [];
  for (let page = 0; ; page++) {
    if (page >= maxPages) throw new PagerDutyQueryFailed(undefined, `more than ${maxPages} pages of ${limit} incidents; narrow the window or raise maxPages`);
    const params = new URLSearchParams();
    for (const s of ['triggered', 'acknowledged', 'resolved']) params.append('statuses[]', s);
    for (const id of q.serviceIds) params.append('service_ids[]', id);
    params.set('since', q.since.toISOString());
    params.set('until', q.until.toISOString());
    params.set('limit', String(limit));
    params.set('offset', String(page * limit));
    let res: Response;
    try {
      res = await doFetch(`${base}/incidents?${params.toString()}`, {
        method: 'GET',
        headers: { Accept: PAGERDUTY_ACCEPT, 'Content-Type': 'application/json', Authorization: `Token token=${token}` },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw new PagerDutyQueryFailed(undefined, `${base} could not be reached: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = '';
      try {
        const e = (JSON.parse(text) as { error?: { message?: string; errors?: string[] } }).error;
        detail = [e?.message, ...(e?.errors ?? [])].filter(Boolean).join('; ');
      } catch {
        detail = '';
      }
      const why = res.status === 401 ? 'the API token was refused' : res.status === 403 ? 'the API token may not list incidents' : `HTTP ${res.status}`;
      throw new PagerDutyQueryFailed(res.status, `${why}${detail ? ` (${detail.slice(0, 200)})` : ''}`);
    }
    let body: { incidents?: unknown; more?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new PagerDutyQueryFailed(res.status, 'the answer is not JSON');
    }
    if (!Array.isArray(body.incidents)) throw new PagerDutyQueryFailed(res.status, 'the answer has no incidents list');
    body.incidents.forEach((pd, i) => {
      if (!isPagerDutyIncident(pd)) throw new PagerDutyQueryFailed(res.status, `incident ${page * limit + i} lacks id, status (triggered|acknowledged|resolved) or created_at`);
      out.push(fromPagerDuty(pd));
    });
    if (body.more !== true || body.incidents.length === 0) return out;
  }
}

/** How incidents are read: the embedded file, or PagerDuty's REST API. */
export type IncidentSourceConfig =
  | { kind: 'file'; path: string; resolvedWindowMs?: number }
  | ({ kind: 'pagerduty'; resolvedWindowMs?: number; lookbackMs?: number } & PagerDutyIncidentsOptions);

/** The context source's name (as `context.unjoined` names it when it cannot be read). */
export const INCIDENT_SOURCE_NAME = 'incidents';

/**
 * The incident context source. The file is read on every call (it may change between detections);
 * PagerDuty is asked once per call for the unit's services, from the earliest detection minus the
 * lookback (default 30 days: an incident open for longer is missed) until `now`.
 */
export function incidentContextSource(config: IncidentSourceConfig): ContextSource {
  const resolvedWindowMs = config.resolvedWindowMs ?? DEFAULT_RESOLVED_WINDOW_MS;
  return {
    name: config.kind === 'file' ? `${INCIDENT_SOURCE_NAME}:file` : `${INCIDENT_SOURCE_NAME}:pagerduty`,
    async contextFor({ unit, observations, now }) {
      if (observations.length === 0) return [];
      let incidents: Incident[];
      if (config.kind === 'file') incidents = await loadIncidentFile(config.path);
      else {
        const serviceIds = pagerDutyServicesOf(unit);
        if (serviceIds.length === 0) return observations.map(() => undefined);
        const earliest = Math.min(...observations.map((o) => Date.parse(o.detectedAt)).filter((t) => !Number.isNaN(t)));
        // PagerDuty refuses a since..until range over 6 months: never ask for more than 180 days.
        const from = (Number.isFinite(earliest) ? earliest : now.getTime()) - (config.lookbackMs ?? 30 * 24 * 3_600_000);
        const since = new Date(Math.max(from, now.getTime() - 180 * 24 * 3_600_000));
        incidents = await listPagerDutyIncidents(config, { serviceIds, since, until: now });
      }
      return observations.map((o) => {
        const incident = incidentFor(incidents, unit, o, { resolvedWindowMs });
        return incident ? { incident } : undefined;
      });
    },
  };
}

/**
 * The incident source the environment configures, or undefined when none is: PagerDuty when a
 * token reference is set (`DRIFTPLANE_PAGERDUTY_TOKEN_FILE` or `DRIFTPLANE_PAGERDUTY_TOKEN_ENV`,
 * with `DRIFTPLANE_PAGERDUTY_API_URL` optional), else the file in `DRIFTPLANE_INCIDENTS_FILE`.
 */
export function incidentSourceFromEnv(env: NodeJS.ProcessEnv = process.env): ContextSource | undefined {
  const tokenFile = env[PAGERDUTY_TOKEN_FILE_ENV];
  const tokenEnv = env[PAGERDUTY_TOKEN_ENV_ENV];
  if (tokenFile || tokenEnv) {
    const token: TokenRef = tokenFile ? { file: tokenFile } : { env: tokenEnv };
    return incidentContextSource({ kind: 'pagerduty', token, env, ...(env[PAGERDUTY_API_URL_ENV] ? { apiUrl: env[PAGERDUTY_API_URL_ENV] } : {}) });
  }
  if (env[PAGERDUTY_API_URL_ENV])
    throw new Error(`${PAGERDUTY_API_URL_ENV} is set but no token reference: set ${PAGERDUTY_TOKEN_FILE_ENV} or ${PAGERDUTY_TOKEN_ENV_ENV}`);
  const file = env[INCIDENTS_FILE_ENV];
  return file ? incidentContextSource({ kind: 'file', path: file }) : undefined;
}
