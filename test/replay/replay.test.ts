import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { quietTemporalLogs, workflowBundle } from '../support/lifecycle-harness';

// Histories recorded from real runs (`npm run record-histories`). Every change to workflow code
// must still replay them; a change of shape goes behind patched().
const dir = path.resolve(__dirname, '..', 'fixtures', 'histories');
const histories = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f.replace(/\.json$/, ''), history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { events: unknown[] } }));

beforeAll(async () => {
  await quietTemporalLogs();
});

describe('replay of recorded histories', () => {
  it('has histories of every lifecycle ending and of a scan', () => {
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining(['lifecycle-approved-revert', 'lifecycle-auto-heal', 'lifecycle-expired', 'lifecycle-rejected', 'lifecycle-signal-approval', 'unit-scan-drift', 'unit-scan-detection-failed', 'lifecycle-detection-stale', 'staleness-sweep']),
    );
  });

  it.each(histories.map((h) => [h.name, h.history] as const))('replays %s deterministically', async (_name, history) => {
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history)).resolves.toBeUndefined();
  });

  it('fails with a determinism violation when the workflow code changes shape', async () => {
    const altered = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'altered', 'index.ts'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
    const history = histories.find((h) => h.name === 'lifecycle-approved-revert')!.history;
    await expect(Worker.runReplayHistory({ workflowBundle: altered }, history)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
