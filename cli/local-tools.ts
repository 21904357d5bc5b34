import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ToolError } from '../domain/errors';

/** The repository root (this file lives in cli/). */
export const projectRoot = path.resolve(__dirname, '..');

const toolsBin = path.join(projectRoot, '.tools', 'bin');

/**
 * Finds a local binary as an absolute path: an explicit environment variable first, then the
 * project's .tools/bin (see `npm run tools`), then PATH. @temporalio/testing needs an existing path.
 */
export function locateTool(name: 'temporal' | 'temporal-test-server' | 'moto_server', envVar?: string): string {
  const fromEnv = envVar ? process.env[envVar] : undefined;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ToolError(`${envVar}=${fromEnv} does not exist`);
    return path.resolve(fromEnv);
  }
  const local = path.join(toolsBin, name);
  if (existsSync(local)) return local;
  try {
    const found = execFileSync('which', [name], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // not on PATH either
  }
  throw new ToolError(
    `cannot find \`${name}\``,
    `run \`npm run tools\` to install the pinned test servers into .tools/` +
      (envVar ? `, or set ${envVar} to the binary's absolute path` : ''),
  );
}

/** The Temporal CLI: $TEMPORAL_CLI, then .tools/bin/temporal, then `temporal` on PATH. */
export const locateTemporalCli = (): string => locateTool('temporal', 'TEMPORAL_CLI');
/** The Java time-skipping test server (a native executable). */
export const locateTestServer = (): string => locateTool('temporal-test-server', 'TEMPORAL_TEST_SERVER');
/** moto's server, AWS APIs on loopback. */
export const locateMotoServer = (): string => locateTool('moto_server', 'MOTO_SERVER');
