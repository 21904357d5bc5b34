import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** Activities that heartbeat on their own, with details they resume from: the pulse leaves them alone. */
export const SELF_HEARTBEATING_ACTIVITIES: readonly string[] = ['runPlan'];

/**
 * Heartbeats every activity that has a heartbeat timeout, a few times per timeout, for as long as
 * it runs. Liveness, not progress: if the worker dies (SIGKILL, OOM, a lost node), the heartbeats
 * stop and Temporal retries the activity elsewhere within the heartbeat timeout, instead of
 * waiting out the whole start-to-close timeout. Activities in SELF_HEARTBEATING_ACTIVITIES
 * heartbeat with their own details and are not touched.
 */
export const heartbeatInterceptor: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(input, next) {
      const timeout = ctx.info.heartbeatTimeoutMs;
      if (!timeout || SELF_HEARTBEATING_ACTIVITIES.includes(ctx.info.activityType)) return next(input);
      const pulse = setInterval(() => ctx.heartbeat(), Math.max(50, Math.min(10_000, timeout / 3)));
      try {
        ctx.heartbeat();
        return await next(input);
      } finally {
        clearInterval(pulse);
      }
    },
  },
});
