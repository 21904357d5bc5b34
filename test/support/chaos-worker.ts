/**
 * A chaos worker process: the production entrypoint (workers/main.ts) with test/support/chaos-hold.ts
 * installed first (import order is evaluation order), so CHAOS_HOLD_ACTIVITY can park one activity
 * type for a SIGKILL. Without that variable it is exactly `npm run worker`.
 */
import './chaos-hold';
import '../../workers/main';
