/**
 * A test-only activity interceptor for chaos worker processes (test/support/chaos-worker.ts): when
 * CHAOS_HOLD_ACTIVITY names an activity type, every attempt of it runs as usual and then, its side
 * effects done and its evidence written, does not return: it writes `<CHAOS_HOLD_DIR>/<type>.json`
 * ({ attempt, workflowId }) and waits for ever. The worker's heartbeat interceptor (outside this
 * one) keeps the attempt alive, so the lifecycle sits in that stage until the test kills the
 * process. That is the hardest moment for a crash: the work is done, Temporal does not know it,
 * and the retry on another worker must not do it again.
 *
 * Installed by wrapping `Worker.create` before workers/main.ts runs: production modules keep no
 * test code path, and the worker is otherwise the production entrypoint.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '@temporalio/activity';
import { Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';

/** The interceptor that holds `activityType` after it ran, announcing it in `dir`. */
export function holdAfter(activityType: string, dir: string): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const result = await next(input);
        if (ctx.info.activityType !== activityType) return result;
        writeFileSync(
          path.join(dir, `${activityType}.json`),
          JSON.stringify({ attempt: ctx.info.attempt, workflowId: ctx.info.workflowExecution?.workflowId }),
        );
        return new Promise<never>(() => undefined);
      },
    },
  });
}

const holdType = process.env.CHAOS_HOLD_ACTIVITY;
const holdDir = process.env.CHAOS_HOLD_DIR;
if (holdType) {
  if (!holdDir) throw new Error('CHAOS_HOLD_ACTIVITY needs CHAOS_HOLD_DIR');
  const create = Worker.create.bind(Worker);
  // Appended last, so it runs inside the heartbeat interceptor: the held attempt keeps heartbeating.
  Worker.create = (options: WorkerOptions) =>
    create({
      ...options,
      interceptors: {
        ...options.interceptors,
        activity: [...(options.interceptors?.activity ?? []), holdAfter(holdType, holdDir)],
      },
    });
}
