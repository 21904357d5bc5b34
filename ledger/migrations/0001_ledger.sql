-- driftplane findings ledger, version 1. A read model: Temporal is the source of truth for running
-- lifecycles and evidence is the audit record; `driftplane db rebuild` refills every table below
-- from evidence. The same SQL runs on PostgreSQL and on PGlite (embedded Postgres).

-- One row per lifecycle run of a finding. A finding reopened after it closed (a regression) gets a
-- new run. Columns are filled as the stages' evidence records arrive; a stage not reached is NULL.
CREATE TABLE IF NOT EXISTS lifecycles (
  finding_id        text        NOT NULL,
  run_id            text        NOT NULL,
  unit              text        NOT NULL,
  resource_ref      text        NOT NULL,
  resource_type     text,
  detector          text,
  -- From the classified record's decision (NULL until classified).
  environment       text,
  domain            text,
  owner             text,
  drift_class       text,
  risk              text,
  -- CRITICAL 4, HIGH 3, MEDIUM 2, LOW 1, INFO 0: for "at least" filters and ordering.
  risk_rank         smallint,
  action            text,
  auto_heal_allowed boolean,
  rules             jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- [{ruleId, why}] that fired
  changed_fields    jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- ["/spec/replicas", ...]
  actor             text,       -- the audit actor, when the detector correlated one
  provider_versions jsonb,      -- observation.context.providerUpgrade, when a provider upgrade explains the drift
  regression        boolean     NOT NULL DEFAULT false,
  -- Where it stands: detected | classified | routed | approved | reconciled | verified | closed.
  stage             text        NOT NULL,
  outcome           text,       -- RECONCILED | REJECTED | EXPIRED | NO_ACTION | UNVERIFIED | FAILED ...
  approval_kind     text,       -- person | auto-heal
  approvals         integer     NOT NULL DEFAULT 0,
  escalations       integer     NOT NULL DEFAULT 0,
  reconcile_executed boolean,
  reconcile_detail  text,
  pr_url            text,
  pr_state          text,       -- open | merged | closed
  verify_clean      boolean,
  incident_id       text,
  detected_at       timestamptz NOT NULL,  -- observation.detectedAt
  classified_at     timestamptz,
  routed_at         timestamptz,
  approved_at       timestamptz,
  reconciled_at     timestamptz,
  verified_at       timestamptz,
  closed_at         timestamptz,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (finding_id, run_id)
);
CREATE INDEX IF NOT EXISTS lifecycles_open ON lifecycles (closed_at, risk_rank);
CREATE INDEX IF NOT EXISTS lifecycles_owner ON lifecycles (owner);
CREATE INDEX IF NOT EXISTS lifecycles_detected ON lifecycles (detected_at);

-- Every stage transition of every lifecycle: one row per evidence record, keyed like the evidence
-- (finding, run, step), so a retried write changes nothing. `summary` is small (never the diff).
CREATE TABLE IF NOT EXISTS lifecycle_steps (
  finding_id text        NOT NULL,
  run_id     text        NOT NULL,
  step       text        NOT NULL,
  seq        integer     NOT NULL,
  at         timestamptz NOT NULL,
  summary    jsonb       NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (finding_id, run_id, step)
);

-- Each person's answer (and each auto-heal allowance) to a lifecycle.
CREATE TABLE IF NOT EXISTS approvals (
  finding_id text        NOT NULL,
  run_id     text        NOT NULL,
  step       text        NOT NULL,
  approver   text        NOT NULL,  -- an email, or 'policy' for auto-heal
  answer     text        NOT NULL,  -- approve | reject | auto-heal
  via        text,                  -- slack | cli | dashboard | temporal-ui | policy
  at         timestamptz NOT NULL,
  PRIMARY KEY (finding_id, run_id, step, approver)
);

-- Hotfix windows (hotfixWindow workflows write evidence under their window id).
CREATE TABLE IF NOT EXISTS hotfix_windows (
  window_id  text        NOT NULL,
  run_id     text        NOT NULL,
  unit       text,
  incident   text,
  state      text        NOT NULL,  -- open | closed | escalated
  opened_at  timestamptz NOT NULL,
  deadline   timestamptz,
  closed_at  timestamptz,
  attached   integer     NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (window_id, run_id)
);

-- Each unit's detection record: what staleness is judged by, the same whichever worker asks.
CREATE TABLE IF NOT EXISTS unit_detection (
  unit                 text        PRIMARY KEY,
  first_seen_at        timestamptz,
  last_attempt_at      timestamptz,
  last_result          text,       -- ok | failed
  last_success_at      timestamptz,
  last_error_at        timestamptz,
  last_error           text,
  consecutive_failures integer     NOT NULL DEFAULT 0,
  coverage             jsonb,
  coverage_at          timestamptz
);

-- Every detection attempt (failed jobs, lock contention, detection results for metrics).
CREATE TABLE IF NOT EXISTS detection_attempts (
  unit   text        NOT NULL,
  at     timestamptz NOT NULL,
  result text        NOT NULL,   -- ok | failed
  error  text,
  PRIMARY KEY (unit, at)
);
CREATE INDEX IF NOT EXISTS detection_attempts_at ON detection_attempts (at);

-- Budget alerts already routed: one notification per budget and state, not one per evaluation.
CREATE TABLE IF NOT EXISTS budget_alerts (
  budget      text        PRIMARY KEY,
  state       text        NOT NULL,   -- ok | burning | exhausted
  since       timestamptz NOT NULL,
  notified_at timestamptz
);
