import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for PagerDuty's Events API v2 (`POST /v2/enqueue`) on 127.0.0.1. It checks each event
 * as PagerDuty documents it (PagerDuty/api-schema reference/events-v2/openapiv3.json and the
 * "Send an Alert Event" page): routing_key of 32 characters, event_action trigger|acknowledge|resolve,
 * dedup_key of at most 255 characters, payload.summary (1..1024 characters), payload.source,
 * payload.severity critical|error|warning|info, optional component/group/class strings,
 * custom_details an object, links [{href, text?}], images [{src, href?, alt?}]. Valid events are
 * answered 202 `{status: "success", message: "Event processed", dedup_key}` and grouped into
 * alerts by dedup_key; invalid ones 400 `{status: "invalid event", message: "Event object is
 * invalid", errors: [...]}`, as PagerDuty answers them.
 */
export interface PagerDutyServer {
  url: string;
  /** Every request body as received (parsed), valid or not. */
  received: unknown[];
  /** Alerts by dedup_key: the trigger events each one got. */
  alerts: Map<string, unknown[]>;
  /** The next requests get these answers instead (after validation), e.g. 429 or 500. */
  failNext(...answers: { status: number; body?: unknown }[]): void;
  close(): Promise<void>;
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ACTIONS = ['trigger', 'acknowledge', 'resolve'];
const TOP_LEVEL = [
  'routing_key',
  'event_action',
  'dedup_key',
  'payload',
  'client',
  'client_url',
  'links',
  'images',
];
const PAYLOAD = [
  'summary',
  'timestamp',
  'severity',
  'source',
  'component',
  'group',
  'class',
  'custom_details',
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The reasons an event is invalid (none when PagerDuty would take it). */
export function checkEvent(body: unknown): string[] {
  const errors: string[] = [];
  if (!isObject(body)) return ['Event object format is unrecognized'];
  for (const k of Object.keys(body))
    if (!TOP_LEVEL.includes(k)) errors.push(`'${k}' is not a documented field`);
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32)
    errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  if (!ACTIONS.includes(body.event_action as string))
    errors.push("'event_action' is invalid (must be one of trigger, acknowledge, resolve)");
  if (body.dedup_key !== undefined && (typeof body.dedup_key !== 'string' || body.dedup_key.length > 255))
    errors.push("'dedup_key' must be a string of at most 255 characters");
  if (body.event_action !== 'trigger') {
    if (typeof body.dedup_key !== 'string')
      errors.push("'dedup_key' is required unless event_action is trigger");
    return errors;
  }
  const p = body.payload;
  if (!isObject(p)) return [...errors, "'payload' is missing or not an object"];
  for (const k of Object.keys(p))
    if (!PAYLOAD.includes(k)) errors.push(`'payload.${k}' is not a documented field`);
  if (typeof p.summary !== 'string' || p.summary.length === 0)
    errors.push("'payload.summary' is missing or blank");
  else if (p.summary.length > 1024) errors.push("'payload.summary' is longer than 1024 characters");
  if (typeof p.source !== 'string' || p.source.length === 0)
    errors.push("'payload.source' is missing or blank");
  if (!SEVERITIES.includes(p.severity as string))
    errors.push("'payload.severity' is invalid (must be one of critical, error, warning, info)");
  for (const k of ['component', 'group', 'class', 'timestamp'])
    if (p[k] !== undefined && typeof p[k] !== 'string') errors.push(`'payload.${k}' must be a string`);
  if (p.custom_details !== undefined && !isObject(p.custom_details))
    errors.push("'payload.custom_details' must be an object");
  if (body.links !== undefined) {
    if (!Array.isArray(body.links)) errors.push("'links' must be an array");
    else
      body.links.forEach((l, i) => {
        if (!isObject(l) || typeof l.href !== 'string') errors.push(`'links[${i}].href' is required`);
        else if (l.text !== undefined && typeof l.text !== 'string')
          errors.push(`'links[${i}].text' must be a string`);
      });
  }
  return errors;
}

export async function startPagerDutyServer(): Promise<PagerDutyServer> {
  const received: unknown[] = [];
  const alerts = new Map<string, unknown[]>();
  const queued: { status: number; body?: unknown }[] = [];
  let generated = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body?: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v2/enqueue') return reply(404, { status: 'Not found' });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        received.push(undefined);
        return reply(400, {
          status: 'Unrecognized object',
          message: 'Event object format is unrecognized',
          errors: ['JSON parse error'],
        });
      }
      received.push(body);
      const errors = checkEvent(body);
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
        errors.push('Content-Type must be application/json');
      if (errors.length > 0)
        return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors });
      const next = queued.shift();
      if (next) return reply(next.status, next.body);
      const event = body as { dedup_key?: string };
      const key = event.dedup_key ?? `generated-${++generated}`;
      alerts.set(key, [...(alerts.get(key) ?? []), body]);
      return reply(202, { status: 'success', message: 'Event processed', dedup_key: key });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v2/enqueue`,
    received,
    alerts,
    failNext: (...answers) => void queued.push(...answers),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
