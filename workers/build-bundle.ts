/** Prebuilds the workflow bundle for production workers: `npm run build:bundle` → build/workflow-bundle.js. */
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { workflowsPath } from './create-worker';

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'build', 'workflow-bundle.js'));
  const { code } = await bundleWorkflowCode({ workflowsPath });
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, code);
  process.stderr.write(`wrote ${out} (${(code.length / 1024).toFixed(0)} KiB)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 3;
});
