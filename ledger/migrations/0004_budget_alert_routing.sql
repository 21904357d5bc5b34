-- Drift budgets (ledger/budgets.ts): what a budget alert was routed to, so the "recovered"
-- notification reaches the same targets as the alert it ends, and the drift class and route it
-- was routed under (for the dashboard and for review).
ALTER TABLE budget_alerts ADD COLUMN IF NOT EXISTS targets jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE budget_alerts ADD COLUMN IF NOT EXISTS route text;
ALTER TABLE budget_alerts ADD COLUMN IF NOT EXISTS remaining double precision;
