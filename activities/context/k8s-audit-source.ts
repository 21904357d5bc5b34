import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  correlateK8sObservation,
  k8sTargetOf,
  parseK8sAuditText,
  type K8sActorConfig,
  type K8sAuditChange,
} from '../../domain/audit/k8s-audit';
import { breakGlassRolesFor, type DriftManagedUnit } from '../../registry';
import type { ContextPatch, ContextSource } from './source';

/** Where the Kubernetes audit log is and who the identities in it are. */
export interface K8sAuditSourceOptions {
  /**
   * The audit log: a file (the API server's log backend, `--audit-log-path`; JSON lines) or a folder
   * (every file in it: rotated logs, or files the webhook backend's receiver writes, each JSON
   * lines, an event array or an EventList). `{cluster}` is replaced by the unit's `cluster`; a
   * function picks the log per unit (undefined: the source knows nothing about that unit).
   */
  path: string | ((unit: DriftManagedUnit) => string | undefined);
  /**
   * CI, operator and break-glass identities beyond the built-in ones. The registry's break-glass
   * roles of the unit and its owning team are always added.
   */
  actors?: K8sActorConfig;
}

/** Reads every event of a log file or folder; a missing or unreadable log throws (the context is then unjoined, never empty). */
export async function readK8sAuditLog(location: string): Promise<K8sAuditChange[]> {
  const info = await stat(location).catch((err: NodeJS.ErrnoException) => {
    throw new Error(
      `Kubernetes audit log ${location}: ${err.code === 'ENOENT' ? 'no such file or folder' : err.message}`,
    );
  });
  const files = info.isDirectory()
    ? (await readdir(location, { withFileTypes: true }))
        .filter((d) => d.isFile() && !d.name.startsWith('.'))
        .map((d) => path.join(location, d.name))
        .sort()
    : [location];
  const out: K8sAuditChange[] = [];
  for (const file of files) out.push(...parseK8sAuditText(await readFile(file, 'utf8'), file));
  return out;
}

function logOf(option: K8sAuditSourceOptions['path'], unit: DriftManagedUnit): string | undefined {
  if (typeof option === 'function') return option(unit);
  if (!option.includes('{cluster}')) return option;
  const cluster = unit.spec.cluster;
  return cluster ? option.replaceAll('{cluster}', cluster) : undefined;
}

/**
 * The Kubernetes audit log as a context source (`k8s-audit`): for each observation naming a
 * Kubernetes object (`Kind/namespace/name`), the actor of the latest successful create, update,
 * patch or delete of that object at or before detection. Other observations (IaC addresses) and
 * objects no event explains get nothing. The log is read once per call.
 */
export function k8sAuditSource(options: K8sAuditSourceOptions): ContextSource {
  return {
    name: 'k8s-audit',
    async contextFor({ unit, registry, observations }) {
      const wanted = observations.map((o) => k8sTargetOf(o.resourceRef) !== undefined);
      const location = logOf(options.path, unit);
      if (!location || !wanted.some(Boolean)) return observations.map(() => undefined);
      const events = await readK8sAuditLog(location);
      const actors: K8sActorConfig = {
        ...options.actors,
        breakGlassRoleArns: [
          ...(options.actors?.breakGlassRoleArns ?? []),
          ...breakGlassRolesFor(registry, unit.metadata.name),
        ],
      };
      return observations.map((o, i): ContextPatch | undefined => {
        if (!wanted[i]) return undefined;
        const { auditCorrelation } = correlateK8sObservation(o, events, actors);
        return auditCorrelation ? { actor: auditCorrelation } : undefined;
      });
    },
  };
}
