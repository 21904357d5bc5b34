import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { verifyStatementSignature } from '../../domain/signing/statement';
import { startDriftplaneServer, type RunningServer } from '../../serve';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { createStatementSigner } from '../../workers/signing-keys';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';
import { startOidcIssuer, type TestOidcIssuer } from '../support/oidc-issuer';

// Answering from the dashboard on the real dev server: a lifecycle on checkout-web-prod (a
// production unit: only signed answers count) waits for approval; `driftplane serve` runs on
// loopback with OIDC sign-in against a real provider on loopback (test/support/oidc-issuer.ts);
// a browser is played with fetch and a cookie jar. The lifecycle records the answer via
// `dashboard` with the statement the server signed, and its validator refuses the drift's actor.
const UNIT = 'checkout-web-prod';
const PRIYA = { sub: 'u-priya', email: 'priya.nair@acme.example', email_verified: true, name: 'Priya Nair' }; // a checkout approver
const MARIA = {
  sub: 'u-maria',
  email: 'maria.lopez@acme.example',
  email_verified: true,
  name: 'Maria Lopez',
}; // a checkout approver: the drift's actor here

let issuer: TestOidcIssuer;
let secretFile: string;
beforeAll(async () => {
  issuer = await startOidcIssuer({ user: PRIYA, alg: 'ES256' });
  secretFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'driftplane-oidc-')), 'client.secret');
  await writeFile(secretFile, `${issuer.clientSecret}\n`, { mode: 0o600 });
});

const t = useDevServerWorker(() => ({
  DRIFTPLANE_OIDC_ISSUER: issuer.url,
  DRIFTPLANE_OIDC_CLIENT_ID: issuer.clientId,
  DRIFTPLANE_OIDC_CLIENT_SECRET_FILE: secretFile,
}));

let server: RunningServer;
const logs: string[] = [];
beforeAll(async () => {
  server = await startDriftplaneServer(
    t.config,
    { host: '127.0.0.1', port: 0 },
    { log: (l) => logs.push(l) },
  );
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
});

/** Opens a lifecycle on checkout-web-prod whose drift was made by `actor`, waiting for approval. */
async function open(actor: string) {
  await seedDemoSandbox(t.config.planesDir, new Date());
  const file = path.join(t.config.planesDir, UNIT, 'audit.jsonl');
  const lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as object);
  await writeFile(
    file,
    lines.map((l) => JSON.stringify({ ...l, actor: { id: actor, type: 'human' } })).join('\n') + '\n',
  );
  const r = (await t.env.client.workflow.execute('unitScan', {
    workflowId: `scan:${UNIT}:${Date.now()}:${Math.random()}`,
    taskQueue: t.config.taskQueue,
    args: [{ unit: UNIT }],
  })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  const f = r.findings[0]!;
  await waitForState(t.env.client, f.workflowId, awaitingApproval);
  return f;
}

const historyLength = async (workflowId: string) =>
  (await t.env.client.workflow.getHandle(workflowId).describe()).historyLength;

/** A browser: follows nothing by itself, keeps the cookies the dashboard sets. */
class Browser {
  readonly jar = new Map<string, string>();
  async get(url: string) {
    return this.keep(await fetch(url, { redirect: 'manual', headers: this.headers() }));
  }
  async postForm(url: string, fields: Record<string, string>) {
    return this.keep(
      await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  }
  /** Signs in through the provider: /auth/login → the provider's /authorize → /auth/callback. */
  async signIn(next: string) {
    const login = await this.get(`${server.url}/auth/login?next=${encodeURIComponent(next)}`);
    expect(login.status).toBe(302);
    const atProvider = await fetch(login.headers.get('location')!, { redirect: 'manual' });
    expect(atProvider.status).toBe(302);
    const callback = await this.get(atProvider.headers.get('location')!);
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe(next);
    expect(this.jar.get('driftplane-session')).toBeTruthy();
  }
  /** The session's CSRF token (what the dashboard's forms carry): GET /auth/session. */
  async csrf(base = server.url) {
    const s = (await (await this.get(`${base}/auth/session`)).json()) as { csrf: string | null };
    if (!s.csrf) throw new Error('not signed in');
    return s.csrf;
  }
  private headers(): Record<string, string> {
    return this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }
  private keep(r: Response) {
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = (pair as string).split('=') as [string, string];
      if (/Max-Age=0/.test(c)) this.jar.delete(k);
      else this.jar.set(k, v);
    }
    return r;
  }
}

const answerUrl = (findingId: string) => `${server.url}/findings/${encodeURIComponent(findingId)}/answer`;

describe('answering from the dashboard', () => {
  it("refuses an unauthenticated POST and the drift's own actor, then records a signed-in approver's approval via dashboard with the server-signed statement", async () => {
    const f = await open('maria.lopez@acme.example');
    const h0 = await historyLength(f.workflowId);
    const page = `/findings/${encodeURIComponent(f.findingId)}`;

    // No session: 401 and a sign-in link; nothing reaches Temporal, the lifecycle still waits.
    const stranger = new Browser();
    const anon = await stranger.postForm(answerUrl(f.findingId), {
      answer: 'approve',
      reason: 'looks fine',
      csrf: 'guess',
      approver: PRIYA.email,
    });
    expect(anon.status).toBe(401);
    expect(await anon.text()).toContain(`/auth/login?next=${encodeURIComponent(page)}`);
    expect(await historyLength(f.workflowId)).toBe(h0);

    // Maria signs in (OIDC) and approves her own drift: the lifecycle's validator refuses, the page says why.
    issuer.setUser(MARIA);
    const maria = new Browser();
    await maria.signIn(page);
    const refused = await maria.postForm(answerUrl(f.findingId), {
      answer: 'approve',
      reason: 'it was me, it is fine',
      csrf: await maria.csrf(),
    });
    expect(refused.status).toBe(409);
    const refusal = await refused.text();
    expect(refusal).toMatch(
      /Refused: approve refused for [^:]+:[0-9a-f]+: maria\.lopez@acme\.example caused this drift and cannot approve its reconciliation\./,
    );
    expect(await historyLength(f.workflowId)).toBe(h0);
    expect((await waitForState(t.env.client, f.workflowId, awaitingApproval)).answer).toBeUndefined();

    // Priya signs in and approves; a name typed into the form is ignored.
    issuer.setUser(PRIYA);
    const priya = new Browser();
    await priya.signIn(page);
    const reason = 'Unapproved image tag in prod: revert to the digest in Git';
    const ok = await priya.postForm(answerUrl(f.findingId), {
      answer: 'approve',
      reason,
      csrf: await priya.csrf(),
      approver: 'dave.kim@acme.example',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`${page}?answered=approve`);

    const done = (await t.env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('RECONCILED');
    expect(done.answer).toMatchObject({
      answer: 'approved',
      approver: PRIYA.email,
      via: 'dashboard',
      reason,
      authenticated: true,
    });
    const signed = done.answer!.statement!;
    expect(signed.statement).toMatchObject({
      v: 1,
      findingId: f.findingId,
      answer: 'approved',
      approver: PRIYA.email,
      reason,
      channel: 'dashboard',
    });
    expect(signed.signer).toMatchObject({
      kind: 'ed25519',
      keyId: createStatementSigner(t.config.signing).trust().keys[0]!.id,
    });
    expect(verifyStatementSignature(signed)).toEqual({ ok: true });
    // The server's log names the sign-ins and the answer, never a secret.
    expect(logs).toEqual(
      expect.arrayContaining([
        'dashboard: maria.lopez@acme.example signed in',
        'dashboard: priya.nair@acme.example signed in',
        `dashboard: approved ${f.findingId} as ${PRIYA.email}`,
      ]),
    );
    expect(logs.join('\n')).not.toContain(issuer.clientSecret);
  });

  it('rejects from the local-development mode (DRIFTPLANE_DASHBOARD_DEV_USER on loopback); without the CSRF token nothing is sent', async () => {
    const f = await open('maria.lopez@acme.example');
    const h0 = await historyLength(f.workflowId);
    const dev = await startDriftplaneServer(
      { ...t.config, dashboard: { devUser: PRIYA.email } },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      const browser = new Browser();
      expect(await (await browser.get(`${dev.url}/auth/session`)).json()).toMatchObject({
        mode: 'dev',
        user: { email: PRIYA.email, via: 'dev' },
      });
      const url = `${dev.url}/findings/${encodeURIComponent(f.findingId)}/answer`;
      const noToken = await browser.postForm(url, { answer: 'reject', reason: 'no' });
      expect(noToken.status).toBe(403);
      expect(await historyLength(f.workflowId)).toBe(h0);

      const reason = 'The image change is expected: keep it and update Git instead';
      const r = await browser.postForm(url, { answer: 'reject', reason, csrf: await browser.csrf(dev.url) });
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe(`/findings/${encodeURIComponent(f.findingId)}?answered=reject`);
      const done = (await t.env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
      expect(done.outcome).toBe('REJECTED');
      expect(done.answer).toMatchObject({
        answer: 'rejected',
        approver: PRIYA.email,
        via: 'dashboard',
        reason,
        authenticated: true,
      });
      expect(done.answer?.statement?.statement).toMatchObject({
        answer: 'rejected',
        channel: 'dashboard',
        approver: PRIYA.email,
      });
    } finally {
      await dev.close();
    }
  });
});
