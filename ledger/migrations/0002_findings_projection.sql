-- The findings projection's merge, as SQL functions (ledger/findings.ts calls them, one call per
-- evidence record; see its module comment). Each function writes the record's lifecycle_steps row
-- (ON CONFLICT DO NOTHING) and then only the columns its step owns: `stage`/`state` only move
-- forward, counters and deadlines take the larger value, and a column several attempts write
-- (approval-N, reconciled-N, verified-N, the PR) is set only by the record with the highest evidence
-- seq (kept in the *_seq columns below). The result does not depend on the order the records arrive
-- in. The step's kind (`p_kind`) and its summary are made by ledger/findings.ts.
-- enable_seqscan = off (for these functions only): PL/pgSQL caches each statement's plan for the
-- session. A plan made while the tables were nearly empty (a new ledger; PGlite never re-analyzes)
-- would scan whole tables once they hold thousands of rows; every statement here reads by a key
-- prefix of a primary key, so with seq scans priced out the cached plans are index scans at any size.
-- To change the projection, add a migration that replaces these functions (never edit this file).

-- The evidence seq of the record that set each column written by several attempts, so a record only
-- overrides a later one's values when it is later itself (bookkeeping of the projection).
ALTER TABLE lifecycles ADD COLUMN IF NOT EXISTS approval_seq integer;
ALTER TABLE lifecycles ADD COLUMN IF NOT EXISTS reconcile_seq integer;
ALTER TABLE lifecycles ADD COLUMN IF NOT EXISTS pr_seq integer;
ALTER TABLE lifecycles ADD COLUMN IF NOT EXISTS verify_seq integer;

-- `cur` moved forward to `target` in the lifecycle stage order, never back.
CREATE OR REPLACE FUNCTION ledger_stage_at_least(cur text, target text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN array_position(ARRAY['detected','classified','routed','approved','reconciled','verified','closed']::text[], cur)
       < array_position(ARRAY['detected','classified','routed','approved','reconciled','verified','closed']::text[], target)
    THEN target ELSE cur END
$$;

-- The same for a hotfix window's state.
CREATE OR REPLACE FUNCTION ledger_window_state_at_least(cur text, target text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN array_position(ARRAY['open','escalated','closed']::text[], cur) < array_position(ARRAY['open','escalated','closed']::text[], target)
    THEN target ELSE cur END
$$;

-- A lifecycle's root record (`detected`): creates (or refreshes) the lifecycles row with the columns
-- only it sets. Returns true when other steps of the run were recorded before it: the caller then
-- applies them again (ledger_record_step) so the new row gets their columns.
CREATE OR REPLACE FUNCTION ledger_record_detected(
  p_finding text, p_run text, p_step text, p_seq integer, p_at timestamptz, p_summary jsonb,
  p_unit text, p_resource_ref text, p_resource_type text, p_detector text, p_changed_fields jsonb,
  p_actor text, p_provider_versions jsonb, p_regression boolean, p_detected_at timestamptz
) RETURNS boolean LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO lifecycle_steps (finding_id, run_id, step, seq, at, summary)
  VALUES (p_finding, p_run, p_step, p_seq, p_at, p_summary)
  ON CONFLICT (finding_id, run_id, step) DO NOTHING;
  INSERT INTO lifecycles AS l (finding_id, run_id, unit, resource_ref, resource_type, detector, changed_fields, actor,
    provider_versions, regression, stage, detected_at, updated_at)
  VALUES (p_finding, p_run, p_unit, p_resource_ref, p_resource_type, p_detector, p_changed_fields, p_actor,
    p_provider_versions, p_regression, 'detected', p_detected_at, p_at)
  ON CONFLICT (finding_id, run_id) DO UPDATE SET
    unit = EXCLUDED.unit, resource_ref = EXCLUDED.resource_ref, resource_type = EXCLUDED.resource_type,
    detector = EXCLUDED.detector, changed_fields = EXCLUDED.changed_fields, actor = EXCLUDED.actor,
    provider_versions = EXCLUDED.provider_versions, regression = EXCLUDED.regression,
    detected_at = EXCLUDED.detected_at, updated_at = GREATEST(l.updated_at, EXCLUDED.updated_at);
  RETURN EXISTS (SELECT 1 FROM lifecycle_steps x WHERE x.finding_id = p_finding AND x.run_id = p_run AND x.step <> p_step);
END
$$;

-- Any other lifecycle record: its step row, its answers (approval), its columns of the lifecycles
-- row (none yet when `detected` has not arrived: ledger_record_detected's caller applies it again).
-- p_kind: classified | routed | incident | approval | escalated | reconciled | pr | verified | closed | other.
CREATE OR REPLACE FUNCTION ledger_record_step(
  p_finding text, p_run text, p_step text, p_seq integer, p_at timestamptz, p_summary jsonb, p_kind text
) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  has_pr boolean;
  approving boolean;
BEGIN
  INSERT INTO lifecycle_steps (finding_id, run_id, step, seq, at, summary)
  VALUES (p_finding, p_run, p_step, p_seq, p_at, p_summary)
  ON CONFLICT (finding_id, run_id, step) DO NOTHING;

  IF p_kind = 'classified' THEN
    UPDATE lifecycles l SET
      environment = p_summary->>'environment',
      domain = p_summary->>'domain',
      owner = p_summary->>'owner',
      drift_class = p_summary->>'driftClass',
      risk = p_summary->>'risk',
      risk_rank = CASE p_summary->>'risk' WHEN 'CRITICAL' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 WHEN 'INFO' THEN 0 ELSE NULL END,
      action = p_summary->>'action',
      auto_heal_allowed = (p_summary->>'autoHealAllowed')::boolean,
      rules = COALESCE(p_summary->'rules', '[]'::jsonb),
      classified_at = p_at,
      stage = ledger_stage_at_least(l.stage, 'classified'),
      updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'routed' THEN
    UPDATE lifecycles l SET routed_at = p_at, stage = ledger_stage_at_least(l.stage, 'routed'), updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'incident' THEN
    UPDATE lifecycles l SET incident_id = COALESCE(p_summary->>'incidentId', l.incident_id), updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'approval' THEN
    INSERT INTO approvals (finding_id, run_id, step, approver, answer, via, at)
    SELECT p_finding, p_run, p_step, e->>'approver', e->>'answer', e->>'via', (e->>'at')::timestamptz
    FROM jsonb_array_elements(COALESCE(p_summary->'answers', '[]'::jsonb)) e
    ON CONFLICT (finding_id, run_id, step, approver) DO NOTHING;
    approving := COALESCE(p_summary->>'answer' IN ('approved', 'auto-heal'), false);
    UPDATE lifecycles l SET
      approval_kind = CASE WHEN p_seq >= COALESCE(l.approval_seq, 0) THEN p_summary->>'kind' ELSE l.approval_kind END,
      approval_seq = GREATEST(l.approval_seq, p_seq),
      approved_at = CASE WHEN approving THEN GREATEST(l.approved_at, p_at) ELSE l.approved_at END,
      -- Distinct people who approved, in any round of the run.
      approvals = (SELECT count(DISTINCT lower(p.approver))::int FROM approvals p
                   WHERE p.finding_id = p_finding AND p.run_id = p_run AND p.answer = 'approve'),
      stage = CASE WHEN approving THEN ledger_stage_at_least(l.stage, 'approved') ELSE l.stage END,
      updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'escalated' THEN
    UPDATE lifecycles l SET escalations = GREATEST(l.escalations, COALESCE((p_summary->>'level')::int, 0)), updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'reconciled' THEN
    -- The PR stands where the latest record about it says: a reconcile that opened one, a merge, a close.
    has_pr := p_summary->'pr' IS NOT NULL;
    UPDATE lifecycles l SET
      reconcile_executed = CASE WHEN p_seq >= COALESCE(l.reconcile_seq, 0) THEN (p_summary->>'executed')::boolean ELSE l.reconcile_executed END,
      reconcile_detail = CASE WHEN p_seq >= COALESCE(l.reconcile_seq, 0) THEN p_summary->>'detail' ELSE l.reconcile_detail END,
      reconciled_at = CASE WHEN p_seq >= COALESCE(l.reconcile_seq, 0) THEN p_at ELSE l.reconciled_at END,
      reconcile_seq = GREATEST(l.reconcile_seq, p_seq),
      pr_url = CASE WHEN has_pr AND p_seq >= COALESCE(l.pr_seq, 0) THEN p_summary->'pr'->>'url' ELSE l.pr_url END,
      pr_state = CASE WHEN has_pr AND p_seq >= COALESCE(l.pr_seq, 0) THEN 'open' ELSE l.pr_state END,
      pr_seq = CASE WHEN has_pr THEN GREATEST(l.pr_seq, p_seq) ELSE l.pr_seq END,
      stage = ledger_stage_at_least(l.stage, 'reconciled'),
      updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'pr' THEN
    UPDATE lifecycles l SET
      pr_url = CASE WHEN p_seq >= COALESCE(l.pr_seq, 0) THEN COALESCE(p_summary->>'url', l.pr_url) ELSE l.pr_url END,
      pr_state = CASE WHEN p_seq >= COALESCE(l.pr_seq, 0) THEN p_summary->>'state' ELSE l.pr_state END,
      pr_seq = GREATEST(l.pr_seq, p_seq),
      updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'verified' THEN
    UPDATE lifecycles l SET
      verify_clean = CASE WHEN p_seq >= COALESCE(l.verify_seq, 0) THEN (p_summary->>'clean')::boolean ELSE l.verify_clean END,
      verified_at = CASE WHEN p_seq >= COALESCE(l.verify_seq, 0) THEN p_at ELSE l.verified_at END,
      verify_seq = GREATEST(l.verify_seq, p_seq),
      stage = ledger_stage_at_least(l.stage, 'verified'),
      updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSIF p_kind = 'closed' THEN
    UPDATE lifecycles l SET
      outcome = p_summary->>'outcome',
      closed_at = p_at,
      escalations = GREATEST(l.escalations, COALESCE((p_summary->>'escalations')::int, 0)),
      stage = ledger_stage_at_least(l.stage, 'closed'),
      updated_at = GREATEST(l.updated_at, p_at)
    WHERE l.finding_id = p_finding AND l.run_id = p_run;

  ELSE
    UPDATE lifecycles l SET updated_at = GREATEST(l.updated_at, p_at) WHERE l.finding_id = p_finding AND l.run_id = p_run;
  END IF;
END
$$;

-- A hotfix window's root record (`opened`): the hotfix_windows row. Returns true when other steps of
-- the run were recorded before it (the caller applies them again).
CREATE OR REPLACE FUNCTION ledger_record_window_opened(
  p_window text, p_run text, p_step text, p_seq integer, p_at timestamptz, p_summary jsonb,
  p_unit text, p_incident text, p_deadline timestamptz
) RETURNS boolean LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO lifecycle_steps (finding_id, run_id, step, seq, at, summary)
  VALUES (p_window, p_run, p_step, p_seq, p_at, p_summary)
  ON CONFLICT (finding_id, run_id, step) DO NOTHING;
  INSERT INTO hotfix_windows AS w (window_id, run_id, unit, incident, state, opened_at, deadline, attached, updated_at)
  VALUES (p_window, p_run, p_unit, p_incident, 'open', p_at, p_deadline, 0, p_at)
  ON CONFLICT (window_id, run_id) DO UPDATE SET
    unit = EXCLUDED.unit, incident = EXCLUDED.incident, opened_at = EXCLUDED.opened_at,
    deadline = GREATEST(w.deadline, EXCLUDED.deadline), updated_at = GREATEST(w.updated_at, EXCLUDED.updated_at);
  RETURN EXISTS (SELECT 1 FROM lifecycle_steps x WHERE x.finding_id = p_window AND x.run_id = p_run AND x.step <> p_step);
END
$$;

-- Any other hotfix window record. p_kind: attached | escalated | extended | closed | other.
CREATE OR REPLACE FUNCTION ledger_record_window_step(
  p_window text, p_run text, p_step text, p_seq integer, p_at timestamptz, p_summary jsonb, p_kind text
) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO lifecycle_steps (finding_id, run_id, step, seq, at, summary)
  VALUES (p_window, p_run, p_step, p_seq, p_at, p_summary)
  ON CONFLICT (finding_id, run_id, step) DO NOTHING;
  IF p_kind = 'attached' THEN
    UPDATE hotfix_windows w SET
      attached = (SELECT count(*)::int FROM lifecycle_steps x WHERE x.finding_id = p_window AND x.run_id = p_run AND x.step LIKE 'attached-%'),
      updated_at = GREATEST(w.updated_at, p_at)
    WHERE w.window_id = p_window AND w.run_id = p_run;
  ELSIF p_kind = 'escalated' THEN
    UPDATE hotfix_windows w SET state = ledger_window_state_at_least(w.state, 'escalated'), updated_at = GREATEST(w.updated_at, p_at)
    WHERE w.window_id = p_window AND w.run_id = p_run;
  ELSIF p_kind = 'extended' THEN
    -- A deadline only moves later (each extension adds to the one before).
    UPDATE hotfix_windows w SET deadline = GREATEST(w.deadline, (p_summary->>'deadline')::timestamptz), updated_at = GREATEST(w.updated_at, p_at)
    WHERE w.window_id = p_window AND w.run_id = p_run;
  ELSIF p_kind = 'closed' THEN
    UPDATE hotfix_windows w SET state = ledger_window_state_at_least(w.state, 'closed'), closed_at = p_at, updated_at = GREATEST(w.updated_at, p_at)
    WHERE w.window_id = p_window AND w.run_id = p_run;
  ELSE
    UPDATE hotfix_windows w SET updated_at = GREATEST(w.updated_at, p_at) WHERE w.window_id = p_window AND w.run_id = p_run;
  END IF;
END
$$;
