/**
 * `GET /findings/:id`: one finding. Its runs, the timeline (every stage transition, by seq), the
 * rules that fired, the evidence chain with its verification result, a link to the lifecycle in
 * the Temporal UI, and (for a signed-in person, while the lifecycle waits) the answer form.
 */
import { workflowIdOf } from '../../domain/finding';
import type { ChainCheck } from '../../evidence/evidence-store';
import type { FindingDetail } from '../../ledger/views';
import { humanDuration, utc } from './format';
import { html, type SafeHtml } from './html';
import { badge, runState, table } from './layout';

/** Who is asking, as far as answering goes. */
export type AnswerAccess = { kind: 'signed-in'; email: string; csrf: string } | { kind: 'signed-out' } | { kind: 'off' };

/** What the finding page shows. */
export interface FindingModel {
  detail: FindingDetail;
  evidence: ChainCheck | { error: string };
  temporalUrl: string;
  access: AnswerAccess;
  now: Date;
}

/** The Temporal UI's page of a finding's lifecycle workflow. */
export function temporalWorkflowUrl(base: string, namespace: string, findingId: string): string {
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowIdOf(findingId))}`;
}

/** True when the latest run waits for a person's answer. */
export function waitsForApproval(detail: FindingDetail): boolean {
  const last = detail.runs[detail.runs.length - 1];
  return last !== undefined && !last.closedAt && last.stage === 'routed' && (last.action ?? 'NONE') !== 'NONE';
}

/** A one-line summary of a step's recorded summary (small JSON; never the diff). */
function stepDetail(summary: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(summary)) {
    if (v === null || v === undefined) continue;
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean);
    parts.push(`${k}: ${text.length > 160 ? `${text.slice(0, 157)}…` : text}`);
  }
  return parts.join(' · ');
}

function answerSection(m: FindingModel): SafeHtml {
  const waiting = waitsForApproval(m.detail);
  if (!waiting) return html`<p class="muted" data-testid="answer-state">This lifecycle is not waiting for an answer.</p>`;
  const id = m.detail.findingId;
  if (m.access.kind === 'off')
    return html`<p data-testid="answer-state">Answering from the dashboard is off: no sign-in is configured. See <code>docs/dashboard.md</code> to enable OIDC sign-in (or the local-development user on loopback); meanwhile answer with <code>driftplane approve ${id}</code> or from Slack.</p>`;
  if (m.access.kind === 'signed-out') return html`<p data-testid="answer-state"><a href="/auth/login?next=${encodeURIComponent(`/findings/${encodeURIComponent(id)}`)}">Sign in to answer</a>.</p>`;
  return html`<form class="answer" method="post" action="/findings/${encodeURIComponent(id)}/answer" data-testid="answer-form">
<p>Answering as <strong>${m.access.email}</strong> (your signed-in identity; the lifecycle checks that you may approve).</p>
<fieldset><legend>Answer</legend>
<label><input type="radio" name="answer" value="approve" required> Approve</label>
<label><input type="radio" name="answer" value="reject"> Reject</label></fieldset>
<label>Reason <textarea name="reason" required maxlength="2048"></textarea></label>
<input type="hidden" name="csrf" value="${m.access.csrf}">
<button type="submit">Send answer</button></form>`;
}

/** Renders the finding page's body. */
export function renderFinding(m: FindingModel): SafeHtml {
  const d = m.detail;
  const last = d.runs[d.runs.length - 1];
  const ev = m.evidence;
  return html`
<p><a href="${m.temporalUrl}" data-testid="temporal-link">Open the lifecycle in the Temporal UI</a> · <code data-testid="finding-id">${d.findingId}</code></p>
<section class="card" aria-labelledby="runs-h"><h2 id="runs-h">Runs</h2>
${table({
  testid: 'runs',
  head: ['Run', 'Class', 'Risk', 'Action', 'Detected', 'Time to close', 'State'],
  empty: 'No run recorded yet.',
  rows: d.runs.map((r) => [
    html`<code>${r.runId}</code>${r.regression ? html` ${badge('Regression', 'burning')}` : ''}`,
    html`<span data-metric="class">${r.driftClass ?? 'unclassified'}</span>`,
    html`<span data-metric="risk">${r.risk ?? '—'}</span>`,
    html`${r.action ?? '—'}`,
    utc(r.detectedAt),
    r.closedAt ? humanDuration(r.closedAt.getTime() - r.detectedAt.getTime()) : `open for ${humanDuration(m.now.getTime() - r.detectedAt.getTime())}`,
    html`<span data-metric="outcome" data-value="${r.outcome ?? ''}">${runState(r)}</span>`,
  ]),
})}
${last ? html`<p class="finding-summary">${last.resourceRef} in <strong>${last.unit}</strong>${last.environment ? ` (${last.environment}, ${last.domain ?? 'no domain'})` : ''}, owner ${last.owner ?? 'unknown'}${last.actor ? html`, changed by <strong>${last.actor}</strong>` : ''}.</p>
<p>Changed fields: ${last.changedFields.length ? last.changedFields.map((c) => html`<code>${c}</code> `) : '—'}</p>${last.reconcileDetail ? html`<p>Reconcile: ${last.reconcileDetail}</p>` : ''}${last.prUrl ? html`<p>PR: <a href="${last.prUrl}">${last.prUrl}</a> (${last.prState ?? '?'})</p>` : ''}` : ''}</section>
<section class="card" aria-labelledby="rules-h"><h2 id="rules-h">Rules that fired</h2>
${table({ testid: 'rules', head: ['Rule', 'Why'], empty: 'Not classified yet.', rows: (last?.rules ?? []).map((r) => [html`<code class="nowrap">${r.ruleId}</code>`, r.why]) })}</section>
<section class="card" aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>
${table({ testid: 'timeline', head: ['#', 'At', 'Step', 'Detail'], numeric: [0], empty: 'No step recorded.', rows: d.steps.map((s) => [s.seq, html`<span class="nowrap">${utc(s.at)}</span>`, html`<span data-step="${s.step}">${s.step}</span>`, html`<span class="mono">${stepDetail(s.summary)}</span>`]) })}
${d.approvals.length ? html`<h2 style="margin-top:1rem">Answers</h2>${table({ testid: 'answers', head: ['At', 'Who', 'Answer', 'Via'], empty: '', rows: d.approvals.map((a) => [utc(a.at), a.approver, a.answer, a.via ?? '—']) })}` : ''}</section>
<div class="grid">
<section class="card" aria-labelledby="evidence-h"><h2 id="evidence-h">Evidence chain</h2>
${
  'error' in ev
    ? html`<p data-testid="evidence-state" data-ok="false">${badge('Not verified', 'exhausted')} The evidence could not be read: ${ev.error}</p>`
    : ev.ok
      ? html`<p data-testid="evidence-state" data-ok="true">${badge('Verified', 'ok')} <span data-metric="evidence-records">${ev.records}</span> records, every hash and link checked.</p>`
      : html`<p data-testid="evidence-state" data-ok="false">${badge('Broken', 'exhausted')} <span data-metric="evidence-records">${ev.records}</span> records; problems:</p><ul>${ev.problems.map((p) => html`<li><code>${p}</code></li>`)}</ul>`
}
<p class="muted">Check it yourself: <code>driftplane evidence verify ${d.findingId}</code></p></section>
<section class="card" aria-labelledby="answer-h"><h2 id="answer-h">Answer</h2>${answerSection(m)}</section>
</div>`;
}
