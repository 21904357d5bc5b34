import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../domain/errors';
import { parseBoundaryList } from '../domain/boundaries';
import { parseRedactionKey } from '../domain/redaction';
import { EvidenceVariablesSchema, evidenceSettingsFrom, type EvidenceSettings } from '../evidence/settings';
import { loadTemporalConnection, type TemporalConnection } from './connection';
import { DEFAULT_TASK_QUEUE } from './task-queues';

const root = path.resolve(__dirname, '..');

const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30s, 5m, 72h or 3d');

/** Every setting driftplane reads from the environment, with its default. README lists them. */
export const ConfigSchema = z.object({
  // The connection (workers/connection.ts): an envconfig profile, these variables over it, then localhost:7233 / default.
  // The other TEMPORAL_* variables of envconfig (TEMPORAL_API_KEY, TEMPORAL_TLS_*) are read there.
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().optional(),
  TEMPORAL_PROFILE: z.string().optional(),
  TEMPORAL_CONFIG_FILE: z.string().optional(),
  DRIFTPLANE_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  // Credential boundaries and worker tuning (docs/temporal.md).
  DRIFTPLANE_CONTROL: z.enum(['true', 'false'], 'true or false').default('true'),
  DRIFTPLANE_BOUNDARIES: z
    .string()
    .superRefine((v, ctx) => {
      const r = parseBoundaryList(v);
      if (!r.ok) ctx.addIssue({ code: 'custom', message: `"${r.invalid}" is not a boundary name; expected a comma-separated list such as aws-111122223333,k8s-prod-euw1-a (a-z, 0-9, "-")` });
    })
    .optional(),
  DRIFTPLANE_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).optional(),
  DRIFTPLANE_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(10_000).optional(),
  DRIFTPLANE_MAX_CONCURRENT_LOCAL_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).optional(),
  DRIFTPLANE_SHUTDOWN_GRACE_TIME: Duration.default('10s'),
  DRIFTPLANE_SHUTDOWN_FORCE_TIME: Duration.optional(),
  DRIFTPLANE_BUILD_ID: z.string().regex(/^[\w.+-]{1,255}$/, 'a build id such as 2026.10.1 or a commit hash (letters, digits, ".", "_", "+", "-")').optional(),
  DRIFTPLANE_DEPLOYMENT_NAME: z.string().regex(/^[\w-]{1,255}$/, 'a deployment name (letters, digits, "_", "-")').default('driftplane'),
  DRIFTPLANE_WORKER_VERSIONING: z.enum(['off', 'pinned', 'auto-upgrade']).default('off'),
  DRIFTPLANE_HOME: z.string().default(path.join(process.cwd(), '.driftplane')),
  DRIFTPLANE_EVIDENCE_DIR: z.string().optional(),
  DRIFTPLANE_PLANES_DIR: z.string().optional(),
  DRIFTPLANE_REGISTRY: z.string().default(path.join(root, 'registry', 'examples', 'acme')),
  DRIFTPLANE_DECISION_TABLE: z.string().optional(),
  DRIFTPLANE_APPROVAL_TIMEOUT: Duration.default('72h'),
  DRIFTPLANE_MAX_ESCALATIONS: z.coerce.number().int().min(0).max(10).default(2),
  DRIFTPLANE_VERIFY_INTERVAL: Duration.default('5m'),
  DRIFTPLANE_VERIFY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  DRIFTPLANE_MAX_REASON_BYTES: z.coerce.number().int().min(64).max(16_384).default(2048),
  DRIFTPLANE_WORKFLOW_BUNDLE: z.string().optional(),
  DRIFTPLANE_LEDGER_URL: z.string().regex(/^(postgres(ql)?:\/\/|pglite:)/i, 'postgres://user@host:port/db, pglite:<folder> or pglite:memory').optional(),
  DRIFTPLANE_BUDGET_WINDOW: Duration.default('30d'),
  DRIFTPLANE_DASHBOARD_URL: z.url().optional(),
  DRIFTPLANE_DASHBOARD_DEV_USER: z.email().optional(),
  DRIFTPLANE_OIDC_ISSUER: z.url().optional(),
  DRIFTPLANE_OIDC_CLIENT_ID: z.string().min(1).optional(),
  DRIFTPLANE_OIDC_CLIENT_SECRET_FILE: z.string().optional(),
  DRIFTPLANE_SESSION_SECRET_FILE: z.string().optional(),
  DRIFTPLANE_WORKER_METRICS_ADDRESS: z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-f:]+\]:\d{1,5}$/i, 'host:port, e.g. 127.0.0.1:9464').optional(),
  DRIFTPLANE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  DRIFTPLANE_AWS_ENDPOINT: z.url().optional(),
  DRIFTPLANE_AWS_REGION: z.string().min(1).default('us-east-1'),
  DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE: z.string().optional(),
  DRIFTPLANE_CLOUDTRAIL: z.string().optional(),
  DRIFTPLANE_SERVE_PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_API_URL: z.url().optional(),
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_API_URL: z.url().optional(),
  GITHUB_WEBHOOK_SECRET: z.string().min(1).optional(),
  DRIFTPLANE_PR_TIMEOUT: Duration.default('72h'),
  DRIFTPLANE_PR_POLL_INTERVAL: Duration.default('15m'),
  DRIFTPLANE_REGISTRY_REPO: z.string().regex(/^(file:\/\/\/|(https?:\/\/)?[^/\s]+\/[\w.-]+\/[\w.-]+)/, 'file:///<folder of a Git repository> or github.com/<owner>/<repo>').optional(),
  DRIFTPLANE_REGISTRY_REPO_PATH: z.string().default(''),
  DRIFTPLANE_REGISTRY_REPO_BRANCH: z.string().min(1).default('main'),
  DRIFTPLANE_KUBECONFIG: z.string().optional(),
  DRIFTPLANE_TEMPORAL_UI_URL: z.url().optional(),
  DRIFTPLANE_STACKS_DIR: z.string().optional(),
  DRIFTPLANE_REOPEN_WINDOW: z.union([z.literal('off'), Duration]).default('7d'),
  DRIFTPLANE_TOFU_BIN: z.string().min(1).default('tofu'),
  DRIFTPLANE_K8S_AUDIT_LOG: z.string().optional(),
  DRIFTPLANE_MATCHING_WINDOW: Duration.default('24h'),
  DRIFTPLANE_INCIDENTS_FILE: z.string().optional(),
  DRIFTPLANE_PAGERDUTY_API_URL: z.url().optional(),
  DRIFTPLANE_PAGERDUTY_TOKEN_FILE: z.string().optional(),
  DRIFTPLANE_SIGNING_KEY: z
    .string()
    .refine((v) => parseRedactionKey(v)?.length === 32, 'expected hex or base64 of a 32-byte Ed25519 secret key (the value is not shown)')
    .optional(),
  DRIFTPLANE_REDACTION_KEY: z
    .string()
    .refine((v) => parseRedactionKey(v) !== undefined, 'expected hex or base64 of at least 16 random bytes (the value is not shown)')
    .optional(),
}).extend(EvidenceVariablesSchema.shape);

/** Where the AWS detector finds CloudTrail logs: a folder, or `s3://bucket/prefix`. */
export type CloudTrailLocation = { kind: 'folder'; path: string } | { kind: 's3'; bucket: string; prefix: string };

/** How the worker reaches AWS. No secret is ever read into it from the environment: the SDK's default chain does that. */
export interface AwsConfig {
  /** An endpoint override (moto on loopback); unset for real AWS. */
  endpoint?: string;
  region: string;
  /** OIDC token file for units with `credentials.oidcRole`. */
  webIdentityTokenFile?: string;
  cloudTrail?: CloudTrailLocation;
  /** Static base credentials, set only in code (the demo's fake moto keys); never from a variable of ours. */
  baseCredentials?: { accessKeyId: string; secretAccessKey: string };
}

/** How this process's workers poll and stop (docs/temporal.md, "Worker tuning"). */
export interface WorkerTuning {
  /** Per worker (the control worker and each boundary worker); unset: the SDK's default (100, 40, 100). */
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentLocalActivityExecutions?: number;
  /** After SIGTERM/SIGINT, how long running activities may finish before they are cancelled. */
  shutdownGraceTime: string;
  /** After SIGTERM/SIGINT, when the worker gives up waiting altogether (unset: never). */
  shutdownForceTime?: string;
  /**
   * Worker Versioning: the deployment and build id this worker runs (DRIFTPLANE_BUILD_ID), and
   * whether the server routes by it (`pinned` / `auto-upgrade`) or only records it (`off`).
   */
  deployment?: { name: string; buildId: string; versioning: 'off' | 'pinned' | 'auto-upgrade' };
}

/** Resolved configuration. */
export interface Config {
  /** The resolved Temporal address and namespace ({@link temporal} has the rest: profile, TLS, API key). */
  temporalAddress: string;
  namespace: string;
  /** The Temporal connection: one resolution for the worker, the CLI and `serve` (workers/connection.ts). */
  temporal: TemporalConnection;
  /** The control queue: every workflow, and the activities of units without a boundary (DRIFTPLANE_TASK_QUEUE). */
  taskQueue: string;
  /** Whether this process runs the control worker (DRIFTPLANE_CONTROL, default true). */
  control: boolean;
  /** The credential boundaries this process serves, one worker each on `<taskQueue>.<boundary>` (DRIFTPLANE_BOUNDARIES). */
  boundaries: string[];
  /** Concurrency, shutdown and Worker Versioning of this process's workers. */
  worker: WorkerTuning;
  home: string;
  /** The folder of the local evidence store (when DRIFTPLANE_EVIDENCE_URL names no other store). */
  evidenceDir: string;
  /** The evidence store (folder or S3 with Object Lock), its transparency log and checkpoint key (docs/evidence.md). */
  evidence: EvidenceSettings & { checkpointEveryMs: number };
  planesDir: string;
  registryDir: string;
  decisionTableFile?: string;
  approvalTimeout: string;
  maxEscalations: number;
  verifyInterval: string;
  verifyAttempts: number;
  /** UTF-8 bytes an approval's reason may take. */
  maxReasonBytes: number;
  workflowBundle?: string;
  /**
   * The findings ledger (ledger/, docs/ledger.md): DRIFTPLANE_LEDGER_URL, else PGlite in
   * `$DRIFTPLANE_HOME/ledger` (one process at a time: the demo and `driftplane dev` run the worker
   * and `serve` in one process; separate processes need PostgreSQL). Holds every lifecycle's stage
   * transitions and each unit's detection record (staleness), shared by every worker.
   */
  ledger: { url: string; budgetWindow: string };
  /**
   * The dashboard's sign-in (docs/dashboard.md). OIDC when an issuer is set (the client secret and
   * session secret read from files at start, never from the environment); otherwise, when
   * DRIFTPLANE_DASHBOARD_DEV_USER is set and `serve` binds loopback only, local-development mode:
   * every request is that person. With neither, the read views are open on loopback and answering
   * is refused.
   */
  dashboard: {
    publicUrl?: string;
    devUser?: string;
    oidc?: { issuer: string; clientId: string; clientSecretFile?: string };
    sessionSecretFile?: string;
  };
  /** Metrics, logs and traces (docs/observability.md). */
  telemetry: {
    /** Temporal's own worker metrics in Prometheus format on this address (Runtime telemetry); unset: off. */
    workerMetricsAddress?: string;
    logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    /** OTLP/HTTP traces endpoint (`…/v1/traces`); unset: tracing off. */
    otlpTracesEndpoint?: string;
    serviceName: string;
  };
  aws: AwsConfig;
  /** Where the installation's redaction key is kept when DRIFTPLANE_REDACTION_KEY is unset: `$DRIFTPLANE_HOME/redaction.key`. */
  redactionKeyFile: string;
  /**
   * The installation's redaction key (HMAC-SHA256 fingerprints of secrets, docs/redaction.md):
   * DRIFTPLANE_REDACTION_KEY, else {@link redactionKeyFile}, created with 32 random bytes and
   * mode 0600 on first use. A function, so that reading the config creates nothing and printing
   * it shows no key.
   */
  redactionKey: () => Uint8Array;
  /**
   * The server's Ed25519 key that signs statements of answers from server channels (Slack, the
   * dashboard): DRIFTPLANE_SIGNING_KEY, else `$DRIFTPLANE_HOME/signing.key` (created 0600 on first
   * use; `driftplane keys`, activities/approval-signing). A function, so printing shows no key.
   */
  signing: { home: string; key?: () => Uint8Array };
  /** `driftplane serve`: its port (DRIFTPLANE_SERVE_PORT). */
  servePort: number;
  /** Slack: secrets as functions, so printing the config shows neither. Without a bot token, notifications go to the console. */
  slack: { signingSecret?: () => string; botToken?: () => string; apiUrl?: string };
  /**
   * GitHub (docs/github.md): GITHUB_TOKEN for the REST API at GITHUB_API_URL (GitHub Enterprise;
   * unset for github.com), and GITHUB_WEBHOOK_SECRET that signs deliveries to `POST /github/webhook`.
   * Secrets as functions, so printing the config shows neither.
   */
  github: { token?: () => string | undefined; apiUrl?: string; webhookSecret?: () => string | undefined };
  /** How reconciliation actions reach the systems they change (docs/reconciliation.md). */
  reconcile: {
    /** Default PR timeout (escalation) and poll interval, when a unit's policy sets none. */
    prTimeout: string;
    prPollInterval: string;
    /** The registry as a Git repository, for IGNORE's exception PRs: `file:///…` or `github.com/owner/repo`, and the registry's folder in it. */
    registryRepo?: { repo: string; path: string; revision: string };
    /** A kubeconfig whose contexts are named like the registry's clusters (Kubernetes executors). */
    kubeconfig?: string;
    /** The Temporal UI's base URL, for links in PR bodies. */
    temporalUiUrl?: string;
    /** Checkouts of stack repositories, one folder per unit (OpenTofu executors), when sources are not local repositories. */
    stacksDir?: string;
    /** The OpenTofu (or Terraform) binary the executors run. */
    tofuBinary: string;
    /** Reopen window of units whose policy sets none; `off` never reopens. */
    reopenWindow: string;
  };
  /** Detection adapters and joined context (docs/detection.md). */
  detection: {
    /** Per-unit state of the plan detector (provider versions of the last successful plan). */
    planStateDir: string;
    /** A Kubernetes audit log (audit.k8s.io/v1 Event lines) naming the actor of Kubernetes drift. */
    k8sAuditLog?: string;
    /** How far back a commit or merged PR on a unit's source counts as the change that explains its drift. */
    matchingWindow: string;
    /** Incidents: a YAML/JSON file (embedded default), or a PagerDuty-shaped REST API with a token file. */
    incidentsFile?: string;
    pagerDuty?: { apiUrl: string; tokenFile?: string };
  };
}

function cloudTrailLocation(value: string): CloudTrailLocation {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(value);
  return m ? { kind: 's3', bucket: m[1] as string, prefix: m[2] ?? '' } : { kind: 'folder', path: path.resolve(value) };
}

function slackConfig(signingSecret: string | undefined, botToken: string | undefined, apiUrl: string | undefined): Config['slack'] {
  return { ...(signingSecret ? { signingSecret: () => signingSecret } : {}), ...(botToken ? { botToken: () => botToken } : {}), ...(apiUrl ? { apiUrl } : {}) };
}

function githubConfig(token: string | undefined, apiUrl: string | undefined, webhookSecret: string | undefined): Config['github'] {
  return { ...(token ? { token: () => token } : {}), ...(apiUrl ? { apiUrl } : {}), ...(webhookSecret ? { webhookSecret: () => webhookSecret } : {}) };
}

/** Reads the configuration from an environment; a bad value is an InputError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => k in ConfigSchema.shape && v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ location: { field: String(i.path[0]) }, message: `${String(i.path[0])}: ${i.message}` }));
    throw new InputError(`invalid environment: ${problems.map((p) => p.message).join('; ')}`, { file: 'environment' }, problems);
  }
  const c = parsed.data;
  if (c.DRIFTPLANE_PAGERDUTY_API_URL && !c.DRIFTPLANE_PAGERDUTY_TOKEN_FILE) {
    throw new InputError('invalid environment: DRIFTPLANE_PAGERDUTY_API_URL needs DRIFTPLANE_PAGERDUTY_TOKEN_FILE (the file holding the REST API token)', { file: 'environment' }, [
      { location: { field: 'DRIFTPLANE_PAGERDUTY_TOKEN_FILE' }, message: 'DRIFTPLANE_PAGERDUTY_TOKEN_FILE: required with DRIFTPLANE_PAGERDUTY_API_URL' },
    ]);
  }
  if (Boolean(c.DRIFTPLANE_OIDC_ISSUER) !== Boolean(c.DRIFTPLANE_OIDC_CLIENT_ID)) {
    const missing = c.DRIFTPLANE_OIDC_ISSUER ? 'DRIFTPLANE_OIDC_CLIENT_ID' : 'DRIFTPLANE_OIDC_ISSUER';
    throw new InputError(`invalid environment: DRIFTPLANE_OIDC_ISSUER and DRIFTPLANE_OIDC_CLIENT_ID go together (${missing} is missing)`, { file: 'environment' }, [
      { location: { field: missing }, message: `${missing}: required with the other OIDC setting` },
    ]);
  }
  if (c.DRIFTPLANE_WORKER_VERSIONING !== 'off' && !c.DRIFTPLANE_BUILD_ID) {
    throw new InputError(`invalid environment: DRIFTPLANE_WORKER_VERSIONING=${c.DRIFTPLANE_WORKER_VERSIONING} needs DRIFTPLANE_BUILD_ID (the build this worker runs)`, { file: 'environment' }, [
      { location: { field: 'DRIFTPLANE_BUILD_ID' }, message: 'DRIFTPLANE_BUILD_ID: required with DRIFTPLANE_WORKER_VERSIONING' },
    ]);
  }
  const boundaries = c.DRIFTPLANE_BOUNDARIES ? (parseBoundaryList(c.DRIFTPLANE_BOUNDARIES) as { boundaries: string[] }).boundaries : [];
  const temporal = loadTemporalConnection(env);
  const home = path.resolve(c.DRIFTPLANE_HOME);
  const redactionKeyFile = path.join(home, 'redaction.key');
  let redactionKey: Uint8Array | undefined;
  return {
    temporalAddress: temporal.address,
    namespace: temporal.namespace,
    temporal,
    taskQueue: c.DRIFTPLANE_TASK_QUEUE,
    control: c.DRIFTPLANE_CONTROL === 'true',
    boundaries,
    worker: {
      ...(c.DRIFTPLANE_MAX_CONCURRENT_ACTIVITIES ? { maxConcurrentActivityTaskExecutions: c.DRIFTPLANE_MAX_CONCURRENT_ACTIVITIES } : {}),
      ...(c.DRIFTPLANE_MAX_CONCURRENT_WORKFLOW_TASKS ? { maxConcurrentWorkflowTaskExecutions: c.DRIFTPLANE_MAX_CONCURRENT_WORKFLOW_TASKS } : {}),
      ...(c.DRIFTPLANE_MAX_CONCURRENT_LOCAL_ACTIVITIES ? { maxConcurrentLocalActivityExecutions: c.DRIFTPLANE_MAX_CONCURRENT_LOCAL_ACTIVITIES } : {}),
      shutdownGraceTime: c.DRIFTPLANE_SHUTDOWN_GRACE_TIME,
      ...(c.DRIFTPLANE_SHUTDOWN_FORCE_TIME ? { shutdownForceTime: c.DRIFTPLANE_SHUTDOWN_FORCE_TIME } : {}),
      ...(c.DRIFTPLANE_BUILD_ID ? { deployment: { name: c.DRIFTPLANE_DEPLOYMENT_NAME, buildId: c.DRIFTPLANE_BUILD_ID, versioning: c.DRIFTPLANE_WORKER_VERSIONING } } : {}),
    },
    home,
    evidenceDir: path.resolve(c.DRIFTPLANE_EVIDENCE_DIR ?? path.join(home, 'evidence')),
    evidence: evidenceSettingsFrom(c, {
      evidenceDir: path.resolve(c.DRIFTPLANE_EVIDENCE_DIR ?? path.join(home, 'evidence')),
      // Read (or created) only when a checkpoint is signed: a worker that never signs needs no key file.
      logKeyFile: () => readOrCreateRedactionKey(path.join(home, 'evidence-log.key'), { name: 'evidence log key (Ed25519)', bytes: 32 }),
      awsRegion: c.DRIFTPLANE_AWS_REGION,
    }),
    planesDir: path.resolve(c.DRIFTPLANE_PLANES_DIR ?? path.join(home, 'planes')),
    registryDir: path.resolve(c.DRIFTPLANE_REGISTRY),
    ...(c.DRIFTPLANE_DECISION_TABLE ? { decisionTableFile: path.resolve(c.DRIFTPLANE_DECISION_TABLE) } : {}),
    approvalTimeout: c.DRIFTPLANE_APPROVAL_TIMEOUT,
    maxEscalations: c.DRIFTPLANE_MAX_ESCALATIONS,
    verifyInterval: c.DRIFTPLANE_VERIFY_INTERVAL,
    verifyAttempts: c.DRIFTPLANE_VERIFY_ATTEMPTS,
    maxReasonBytes: c.DRIFTPLANE_MAX_REASON_BYTES,
    ...(c.DRIFTPLANE_WORKFLOW_BUNDLE ? { workflowBundle: path.resolve(c.DRIFTPLANE_WORKFLOW_BUNDLE) } : {}),
    ledger: { url: c.DRIFTPLANE_LEDGER_URL ?? `pglite:${path.join(home, 'ledger')}`, budgetWindow: c.DRIFTPLANE_BUDGET_WINDOW },
    dashboard: {
      ...(c.DRIFTPLANE_DASHBOARD_URL ? { publicUrl: c.DRIFTPLANE_DASHBOARD_URL.replace(/\/+$/, '') } : {}),
      ...(c.DRIFTPLANE_DASHBOARD_DEV_USER ? { devUser: c.DRIFTPLANE_DASHBOARD_DEV_USER.toLowerCase() } : {}),
      ...(c.DRIFTPLANE_OIDC_ISSUER && c.DRIFTPLANE_OIDC_CLIENT_ID
        ? { oidc: { issuer: c.DRIFTPLANE_OIDC_ISSUER, clientId: c.DRIFTPLANE_OIDC_CLIENT_ID, ...(c.DRIFTPLANE_OIDC_CLIENT_SECRET_FILE ? { clientSecretFile: path.resolve(c.DRIFTPLANE_OIDC_CLIENT_SECRET_FILE) } : {}) } }
        : {}),
      ...(c.DRIFTPLANE_SESSION_SECRET_FILE ? { sessionSecretFile: path.resolve(c.DRIFTPLANE_SESSION_SECRET_FILE) } : {}),
    },
    telemetry: {
      ...(c.DRIFTPLANE_WORKER_METRICS_ADDRESS ? { workerMetricsAddress: c.DRIFTPLANE_WORKER_METRICS_ADDRESS } : {}),
      logLevel: c.DRIFTPLANE_LOG_LEVEL,
      ...(c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || c.OTEL_EXPORTER_OTLP_ENDPOINT
        ? { otlpTracesEndpoint: c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(c.OTEL_EXPORTER_OTLP_ENDPOINT as string).replace(/\/+$/, '')}/v1/traces` }
        : {}),
      serviceName: c.OTEL_SERVICE_NAME ?? 'driftplane',
    },
    redactionKeyFile,
    signing: { home, ...(c.DRIFTPLANE_SIGNING_KEY ? { key: () => parseRedactionKey(c.DRIFTPLANE_SIGNING_KEY as string) as Uint8Array } : {}) },
    redactionKey: () => (redactionKey ??= c.DRIFTPLANE_REDACTION_KEY ? (parseRedactionKey(c.DRIFTPLANE_REDACTION_KEY) as Uint8Array) : readOrCreateRedactionKey(redactionKeyFile)),
    servePort: c.DRIFTPLANE_SERVE_PORT,
    slack: slackConfig(c.SLACK_SIGNING_SECRET, c.SLACK_BOT_TOKEN, c.SLACK_API_URL),
    github: githubConfig(c.GITHUB_TOKEN, c.GITHUB_API_URL, c.GITHUB_WEBHOOK_SECRET),
    reconcile: {
      prTimeout: c.DRIFTPLANE_PR_TIMEOUT,
      prPollInterval: c.DRIFTPLANE_PR_POLL_INTERVAL,
      ...(c.DRIFTPLANE_REGISTRY_REPO ? { registryRepo: { repo: c.DRIFTPLANE_REGISTRY_REPO, path: c.DRIFTPLANE_REGISTRY_REPO_PATH, revision: c.DRIFTPLANE_REGISTRY_REPO_BRANCH } } : {}),
      ...(c.DRIFTPLANE_KUBECONFIG ? { kubeconfig: path.resolve(c.DRIFTPLANE_KUBECONFIG) } : {}),
      ...(c.DRIFTPLANE_TEMPORAL_UI_URL ? { temporalUiUrl: c.DRIFTPLANE_TEMPORAL_UI_URL.replace(/\/+$/, '') } : {}),
      ...(c.DRIFTPLANE_STACKS_DIR ? { stacksDir: path.resolve(c.DRIFTPLANE_STACKS_DIR) } : {}),
      tofuBinary: c.DRIFTPLANE_TOFU_BIN,
      reopenWindow: c.DRIFTPLANE_REOPEN_WINDOW,
    },
    detection: {
      planStateDir: path.join(home, 'plan-state'),
      ...(c.DRIFTPLANE_K8S_AUDIT_LOG ? { k8sAuditLog: path.resolve(c.DRIFTPLANE_K8S_AUDIT_LOG) } : {}),
      matchingWindow: c.DRIFTPLANE_MATCHING_WINDOW,
      ...(c.DRIFTPLANE_INCIDENTS_FILE ? { incidentsFile: path.resolve(c.DRIFTPLANE_INCIDENTS_FILE) } : {}),
      ...(c.DRIFTPLANE_PAGERDUTY_API_URL
        ? { pagerDuty: { apiUrl: c.DRIFTPLANE_PAGERDUTY_API_URL, ...(c.DRIFTPLANE_PAGERDUTY_TOKEN_FILE ? { tokenFile: path.resolve(c.DRIFTPLANE_PAGERDUTY_TOKEN_FILE) } : {}) } }
        : {}),
    },
    aws: {
      region: c.DRIFTPLANE_AWS_REGION,
      ...(c.DRIFTPLANE_AWS_ENDPOINT ? { endpoint: c.DRIFTPLANE_AWS_ENDPOINT } : {}),
      ...(c.DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE ? { webIdentityTokenFile: path.resolve(c.DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE) } : {}),
      ...(c.DRIFTPLANE_CLOUDTRAIL ? { cloudTrail: cloudTrailLocation(c.DRIFTPLANE_CLOUDTRAIL) } : {}),
    },
  };
}

/**
 * Reads the installation's redaction key from `file`, creating it first if it does not exist: 32
 * random bytes, hex, mode 0600, published atomically (a link of a complete temporary file), so two
 * processes starting at once end up with the same key. A file that holds no key is an InputError
 * naming the file; its content is never echoed.
 */
export function readOrCreateRedactionKey(file: string, what = { name: 'redaction key', bytes: 16 }): Uint8Array {
  const read = (): Uint8Array => {
    const key = parseRedactionKey(readFileSync(file, 'utf8'));
    if (!key || key.length < what.bytes) throw new InputError(`not a ${what.name} (expected hex or base64 of at least ${what.bytes} bytes; the content is not shown)`, { file });
    return key;
  };
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(tmp, 0o600);
    linkSync(tmp, file);
  } catch (err) {
    // Another process published its key first: everyone uses that one.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return read();
  } finally {
    unlinkSync(tmp);
  }
  return new Uint8Array(key);
}
