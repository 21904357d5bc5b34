import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Web API call as `@slack/web-api` sent it: the method, its arguments (JSON-valued ones parsed) and whether a bearer token came along. */
export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  contentType: string | undefined;
  bearer: boolean;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** What the recorder answers to one call: Slack's JSON body, and optionally an HTTP status and headers (429 + Retry-After). */
export interface RecordedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
}

/**
 * A local stand-in for https://slack.com/api/ that records every call and answers as Slack's
 * documented responses do (chat.postMessage → channel id and ts; chat.update → the same;
 * views.open → the view; chat.postEphemeral → message_ts). `failNext` queues answers (an error
 * code, a 429 with Retry-After) for the next calls of a method.
 */
export async function startSlackApiRecorder(): Promise<{
  url: string;
  calls: RecordedCall[];
  failNext(method: string, ...answers: RecordedAnswer[]): void;
  /** Channel ids handed out for channel names (`#team-checkout` → `C…`). */
  channelIds: Map<string, string>;
  close(): Promise<void>;
}> {
  const calls: RecordedCall[] = [];
  const queued = new Map<string, RecordedAnswer[]>();
  const channelIds = new Map<string, string>();
  let tsCounter = 0;
  const channelId = (c: string) => {
    if (/^[CGD][A-Z0-9]+$/.test(c)) return c;
    if (!channelIds.has(c)) channelIds.set(c, `C0${String(channelIds.size + 1).padStart(8, '0')}`);
    return channelIds.get(c) as string;
  };
  const answer = (method: string, args: Record<string, unknown>): RecordedAnswer => {
    const q = queued.get(method);
    if (q?.length) return q.shift() as RecordedAnswer;
    switch (method) {
      case 'chat.postMessage':
        return {
          body: {
            ok: true,
            channel: channelId(String(args.channel)),
            ts: `1700000000.${String(++tsCounter).padStart(6, '0')}`,
            message: { text: args.text },
          },
        };
      case 'chat.update':
        return { body: { ok: true, channel: args.channel, ts: args.ts, text: args.text } };
      case 'views.open':
        return { body: { ok: true, view: { id: 'V0000000001', ...(args.view as object) } } };
      case 'chat.postEphemeral':
        return { body: { ok: true, message_ts: `1700000001.${String(++tsCounter).padStart(6, '0')}` } };
      default:
        return { body: { ok: false, error: 'unknown_method' } };
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '/').replace(/^\/+(api\/)?/, '').split('?')[0] as string;
      const raw = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'];
      let args: Record<string, unknown> = {};
      if (contentType?.startsWith('application/json'))
        args = JSON.parse(raw || '{}') as Record<string, unknown>;
      else {
        for (const [k, v] of new URLSearchParams(raw)) {
          // The SDK sends objects (blocks, view) as JSON strings inside the form.
          try {
            args[k] = /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
          } catch {
            args[k] = v;
          }
        }
      }
      calls.push({
        method,
        args,
        contentType,
        bearer: /^Bearer \S+/.test(req.headers.authorization ?? ''),
        at: Date.now(),
      });
      const a = answer(method, args);
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    channelIds,
    failNext: (method, ...answers) => queued.set(method, [...(queued.get(method) ?? []), ...answers]),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
