import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../domain/errors';
import { DEFAULT_TASK_QUEUE } from './task-queues';

const root = path.resolve(__dirname, '..');

const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30s, 5m, 72h or 3d');

/** Every setting driftplane reads from the environment, with its default. README lists them. */
export const ConfigSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  DRIFTPLANE_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  DRIFTPLANE_HOME: z.string().default(path.join(process.cwd(), '.driftplane')),
  DRIFTPLANE_EVIDENCE_DIR: z.string().optional(),
  DRIFTPLANE_PLANES_DIR: z.string().optional(),
  DRIFTPLANE_REGISTRY: z.string().default(path.join(root, 'registry', 'examples', 'acme')),
  DRIFTPLANE_DECISION_TABLE: z.string().optional(),
  DRIFTPLANE_APPROVAL_TIMEOUT: Duration.default('72h'),
  DRIFTPLANE_MAX_ESCALATIONS: z.coerce.number().int().min(0).max(10).default(2),
  DRIFTPLANE_VERIFY_INTERVAL: Duration.default('5m'),
  DRIFTPLANE_VERIFY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  DRIFTPLANE_WORKFLOW_BUNDLE: z.string().optional(),
});

/** Resolved configuration. */
export interface Config {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  home: string;
  evidenceDir: string;
  planesDir: string;
  registryDir: string;
  decisionTableFile?: string;
  approvalTimeout: string;
  maxEscalations: number;
  verifyInterval: string;
  verifyAttempts: number;
  workflowBundle?: string;
}

/** Reads the configuration from an environment; a bad value is an InputError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => k in ConfigSchema.shape && v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ location: { field: String(i.path[0]) }, message: `${String(i.path[0])}: ${i.message}` }));
    throw new InputError(`invalid environment: ${problems.map((p) => p.message).join('; ')}`, { file: 'environment' }, problems);
  }
  const c = parsed.data;
  const home = path.resolve(c.DRIFTPLANE_HOME);
  return {
    temporalAddress: c.TEMPORAL_ADDRESS,
    namespace: c.TEMPORAL_NAMESPACE,
    taskQueue: c.DRIFTPLANE_TASK_QUEUE,
    home,
    evidenceDir: path.resolve(c.DRIFTPLANE_EVIDENCE_DIR ?? path.join(home, 'evidence')),
    planesDir: path.resolve(c.DRIFTPLANE_PLANES_DIR ?? path.join(home, 'planes')),
    registryDir: path.resolve(c.DRIFTPLANE_REGISTRY),
    ...(c.DRIFTPLANE_DECISION_TABLE ? { decisionTableFile: path.resolve(c.DRIFTPLANE_DECISION_TABLE) } : {}),
    approvalTimeout: c.DRIFTPLANE_APPROVAL_TIMEOUT,
    maxEscalations: c.DRIFTPLANE_MAX_ESCALATIONS,
    verifyInterval: c.DRIFTPLANE_VERIFY_INTERVAL,
    verifyAttempts: c.DRIFTPLANE_VERIFY_ATTEMPTS,
    ...(c.DRIFTPLANE_WORKFLOW_BUNDLE ? { workflowBundle: path.resolve(c.DRIFTPLANE_WORKFLOW_BUNDLE) } : {}),
  };
}
