import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatLocation, InputError, ToolError } from '../../domain/errors';
import { parsePointer } from '../../domain/json-pointer';
import {
  diffManifests,
  K8S_DIFF_MODES,
  type K8sChange,
  type K8sDiffInput,
  type K8sDiffMode,
  type K8sDiffResult,
} from '../../domain/kubernetes/diff';
import { parseLocated, type LocatedDocument } from '../../registry/decision-table';
import { ExitCode } from '../exit-codes';
import { writeJson, writeOut } from '../output';
import { runAction } from '../run-action';

/**
 * `driftplane k8s diff <desired> <live>` (issue 11 §3): the ownership-aware Kubernetes diff as a
 * command, like `kubectl diff` but comparing the way Argo CD's gitops-engine does.
 */

/** Reads one Kubernetes object from a YAML or JSON file, keeping positions for errors. */
export function readObjectFile(file: string): LocatedDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError('no such file', { file });
    if (code === 'EISDIR') throw new InputError('is a directory, expected a file', { file });
    throw new ToolError(`cannot read ${file}: ${(err as Error).message}`);
  }
  // JSON is YAML: one parser gives line numbers for both. A file with several documents is refused.
  const doc = parseLocated(file, text);
  const v = doc.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InputError('expected one Kubernetes object (a map with apiVersion and kind)', {
      file,
      ...doc.locate([]),
    });
  return doc;
}

/** An error from the diff, pointed at the file (and line) it is about. */
function locateError(err: InputError, docs: Record<K8sDiffInput, LocatedDocument | undefined>): InputError {
  const which = err.location.file as K8sDiffInput | undefined;
  const doc = which !== undefined ? docs[which] : undefined;
  if (!doc) return err;
  const where = formatLocation(err.location);
  const message =
    where && err.message.startsWith(`${where}: `) ? err.message.slice(where.length + 2) : err.message;
  let at: { line?: number; column?: number } = {};
  try {
    at = doc.locate(err.location.field?.startsWith('/') ? parsePointer(err.location.field) : []);
  } catch {
    at = {};
  }
  return new InputError(message, {
    file: doc.file,
    ...at,
    ...(err.location.field !== undefined ? { field: err.location.field } : {}),
  });
}

const short = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

function changeLine(c: K8sChange, secretValues: boolean): string {
  const hasDesired = 'desired' in c;
  const hasLive = 'live' in c;
  const owner = c.owner !== undefined ? `  (owner: ${c.owner})` : '';
  if (!hasDesired && !hasLive)
    return `  ~ ${c.path || '/'}  ${secretValues ? 'value hidden (Secret data)' : 'changed'}${owner}`;
  if (hasDesired && hasLive)
    return `  ~ ${c.path}  desired ${short(c.desired)}, live ${short(c.live)}${owner}`;
  if (hasDesired) return `  + ${c.path || '/'}  desired ${short(c.desired)}, not in live${owner}`;
  return `  - ${c.path}  live ${short(c.live)}, removed from desired${owner}`;
}

/** The readable form of a diff result. */
export function formatK8sDiff(r: K8sDiffResult, desired: string, live: string, mode: K8sDiffMode): string {
  if (!r.modified) return `no drift: ${desired} matches ${live} (${mode})\n`;
  const lines = [
    `drift: ${r.changes.length} changed field${r.changes.length === 1 ? '' : 's'} (${mode}, desired ${desired}, live ${live})`,
  ];
  for (const c of r.changes)
    lines.push(changeLine(c, c.path === '' || /^\/(data|stringData)(\/|$)/.test(c.path)));
  lines.push('  ~ changed   + in desired, not in live   - in live, removed from desired');
  return `${lines.join('\n')}\n`;
}

const EXAMPLES = `
Examples:
  # three-way (default): desired against live and its last-applied-configuration annotation
  driftplane k8s diff deploy.yaml live-deploy.yaml

  # only the fields field manager argocd-controller owns in live managedFields (server-side apply)
  driftplane k8s diff deploy.yaml live.yaml --mode structured-merge --manager argocd-controller

  # the server-side apply dry-run result against live, as JSON
  kubectl apply --server-side --dry-run=server --field-manager argocd-controller -f deploy.yaml -o json > predicted.json
  driftplane k8s diff deploy.yaml live.yaml --mode server-side --manager argocd-controller --predicted-live predicted.json --json

  # aggregated ClusterRoles: their rules are filled in by the controller, ignore them
  driftplane k8s diff clusterrole.yaml live-clusterrole.yaml --ignore-aggregated-roles

--json prints { "modified": bool, "changes": [ { "path", "owner"?, "desired"?, "live"? } ] }.
Paths are JSON pointers (RFC 6901) into live. Secret data values are never printed.`;

/** Registers `k8s diff`. */
export function registerK8sCommands(program: Command): void {
  const k8s =
    program.commands.find((c) => c.name() === 'k8s') ??
    program.command('k8s').description('Kubernetes objects.');
  k8s
    .command('diff')
    .description(
      'Compare a desired Kubernetes manifest with the live object, the way Argo CD compares them:\n' +
        'status, managedFields, server defaults and generated fields are left out; empty and null are the same;\n' +
        'fields another field manager owns are labelled with it. Files are YAML or JSON, one object each.\n' +
        'Exit codes: 0 no drift, 2 drift, 1 invalid input (names the file, line and field), 3 the tool failed.',
    )
    .argument('<desired>', 'the desired manifest (YAML or JSON)')
    .argument('<live>', 'the live object, e.g. `kubectl get -o yaml --show-managed-fields` (YAML or JSON)')
    .option('--mode <mode>', `how to compare: ${K8S_DIFF_MODES.join(' | ')}`, 'three-way')
    .option(
      '--manager <name>',
      'the field manager applying desired (structured-merge, server-side; labels owners)',
    )
    .option('--predicted-live <file>', 'the server-side apply dry-run result (server-side)')
    .option('--ignore-aggregated-roles', 'ignore the rules of ClusterRoles that have an aggregationRule')
    .option('--json', 'print { modified, changes } as JSON')
    .addHelpText('after', EXAMPLES)
    .action(
      runAction(
        (
          desiredFile: string,
          liveFile: string,
          opts: {
            mode: string;
            manager?: string;
            predictedLive?: string;
            ignoreAggregatedRoles?: boolean;
            json?: boolean;
          },
        ) => {
          if (!(K8S_DIFF_MODES as readonly string[]).includes(opts.mode))
            throw new InputError(
              `--mode ${JSON.stringify(opts.mode)} is not one of ${K8S_DIFF_MODES.join(', ')}`,
            );
          const mode = opts.mode as K8sDiffMode;
          if (opts.predictedLive !== undefined && mode !== 'server-side')
            throw new InputError('--predicted-live is only used with --mode server-side');
          const docs: Record<K8sDiffInput, LocatedDocument | undefined> = {
            desired: readObjectFile(desiredFile),
            live: readObjectFile(liveFile),
            'predicted-live':
              opts.predictedLive !== undefined ? readObjectFile(opts.predictedLive) : undefined,
          };
          let result: K8sDiffResult;
          try {
            result = diffManifests(docs.desired?.value, docs.live?.value, {
              mode,
              ...(opts.manager !== undefined ? { manager: opts.manager } : {}),
              ...(docs['predicted-live'] ? { predictedLive: docs['predicted-live'].value } : {}),
              ...(opts.ignoreAggregatedRoles ? { ignoreAggregatedRoles: true } : {}),
            });
          } catch (err) {
            if (err instanceof InputError) throw locateError(err, docs);
            throw err;
          }
          if (opts.json) writeJson(result);
          else writeOut(formatK8sDiff(result, desiredFile, liveFile, mode));
          return result.modified ? ExitCode.needsPerson : ExitCode.ok;
        },
      ),
    );
}
