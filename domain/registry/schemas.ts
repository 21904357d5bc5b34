import { z } from 'zod';
import { DriftClassSchema } from '../classify/vocabulary';
import { AUTO_BOUNDARY, BOUNDARY_NAME, derivedBoundary } from '../boundaries';

/**
 * Zod schemas of the registry's documents: Kubernetes-style YAML with
 * `apiVersion: driftplane.io/v1alpha1`, `kind`, `metadata.name` and `spec`.
 * Objects are strict so that a misspelt field is an error, not a silently ignored key.
 * Cross-document rules (references, shared roles, ignore-rule lint) live in the check modules.
 */

/** The only apiVersion this release reads. */
export const registryApiVersion = 'driftplane.io/v1alpha1';

/** Every kind a registry document may have. */
export const RegistryKindSchema = z.enum([
  'DriftManagedUnit',
  'DriftOwnershipRule',
  'AutoHealPolicy',
  'RoutingPolicy',
  'DriftBudget',
  'DriftException',
  'Team',
  'RedactionPolicy',
  'ChangeFreeze',
  'CompliancePolicy',
]);
/** A registry document kind. */
export type RegistryKind = z.infer<typeof RegistryKindSchema>;

/** What a unit is: which detector scans it and how. */
export const UnitTypeSchema = z.enum([
  'opentofu-stack',
  'terraform-stack',
  'terragrunt-stack',
  'argocd-app',
  'flux-kustomization',
  'flux-helmrelease',
  'aws-account',
  'external-secret',
  'database',
]);
/** A unit type. */
export type UnitType = z.infer<typeof UnitTypeSchema>;

/** Unit types whose resources are Kubernetes objects (selected by group/kind). */
export const kubernetesUnitTypes: readonly UnitType[] = [
  'argocd-app',
  'flux-kustomization',
  'flux-helmrelease',
  'external-secret',
];
/** Unit types whose resources are IaC/provider resources (selected by resource type). */
export const iacUnitTypes: readonly UnitType[] = [
  'opentofu-stack',
  'terraform-stack',
  'terragrunt-stack',
  'aws-account',
  'database',
];

/** Environments. `prod` units must name approvers. */
export const EnvironmentSchema = z.enum(['prod', 'staging', 'dev', 'test', 'sandbox', 'shared']);
/** An environment. */
export type Environment = z.infer<typeof EnvironmentSchema>;

/** Risk tiers; they set the default detection interval. */
export const RiskTierSchema = z.enum(['critical', 'high', 'standard', 'low']);
/** A risk tier. */
export type RiskTier = z.infer<typeof RiskTierSchema>;

/** Platform domains (budgets and routing are per domain). */
export const UnitDomainSchema = z.enum([
  'iam',
  'network',
  'database',
  'secrets',
  'compute',
  'storage',
  'app',
  'cost',
]);
/** A platform domain. */
export type UnitDomain = z.infer<typeof UnitDomainSchema>;

/** Domains that are never silently auto-healed (identity, network exposure, databases, secrets). */
export const neverAutoHealDomains: readonly UnitDomain[] = ['iam', 'network', 'database', 'secrets'];

/** Drift classes: one vocabulary, owned by classification. */
export { DriftClassSchema, type DriftClass } from '../classify/vocabulary';

/** Severities in routing matches (the lower-case form of the product's Risk). */
export const SeveritySchema = z.enum(['info', 'low', 'medium', 'high', 'critical']);
/** A severity. */
export type Severity = z.infer<typeof SeveritySchema>;

/** Categories of fields that §14.1 says an ignore rule must not silently cover. */
export const SensitiveCategorySchema = z.enum([
  'identity',
  'image',
  'network',
  'privilege',
  'persistence',
  'command',
]);
/** A sensitive field category. */
export type SensitiveCategory = z.infer<typeof SensitiveCategorySchema>;

const namePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A DNS-label style name: lower-case letters, digits and dashes, at most 63 characters. */
export const NameSchema = z
  .string()
  .regex(namePattern, 'expected a lower-case DNS label (a-z, 0-9, "-", at most 63 characters)');

/** A duration such as `30s`, `15m`, `6h`, `7d` or `2w`. */
export const DurationSchema = z
  .string()
  .regex(/^[1-9]\d*(s|m|h|d|w)$/, 'expected a duration such as 15m, 6h or 7d');

/** A retention period such as `400d`, `18m` (months) or `7y`. */
export const RetentionSchema = z
  .string()
  .regex(/^[1-9]\d*(d|w|m|y)$/, 'expected a retention such as 400d or 7y');

/** An instant: an ISO date (`2027-02-15`, meaning 00:00 UTC) or an ISO date-time with offset. */
export const InstantSchema = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'expected an ISO date (2027-02-15) or date-time (2027-02-15T12:00:00Z)',
});

/** An IAM role ARN. */
export const RoleArnSchema = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    'expected an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)',
  );

/** A JSON-pointer-like field path; a `*` segment matches any one segment. */
export const FieldPathSchema = z
  .string()
  .regex(/^\/.*$/, 'expected a field path starting with "/" (JSON pointer, "*" matches one segment)');

/** String labels. */
export const LabelsSchema = z.record(z.string(), z.string());

/** `metadata` of every document. */
export const MetadataSchema = z.strictObject({
  name: NameSchema,
  labels: LabelsSchema.optional(),
  annotations: LabelsSchema.optional(),
  description: z.string().optional(),
});
/** Document metadata. */
export type Metadata = z.infer<typeof MetadataSchema>;

function document<K extends RegistryKind, S extends z.ZodType>(kind: K, spec: S) {
  return z.strictObject({
    apiVersion: z.literal(registryApiVersion),
    kind: z.literal(kind),
    metadata: MetadataSchema,
    spec,
  });
}

/** Selects units by name, labels, type, environment, risk tier or domain. Every given criterion must match. */
export const UnitSelectorSchema = z.strictObject({
  names: z.array(NameSchema).optional(),
  matchLabels: LabelsSchema.optional(),
  types: z.array(UnitTypeSchema).optional(),
  environments: z.array(EnvironmentSchema).optional(),
  riskTiers: z.array(RiskTierSchema).optional(),
  domains: z.array(UnitDomainSchema).optional(),
});
/** A unit selector. */
export type UnitSelector = z.infer<typeof UnitSelectorSchema>;

/** An acknowledgement that an ignore path deliberately covers a sensitive field (§14.1). */
export const AcknowledgementSchema = z.strictObject({
  reason: z.string().min(20, 'expected a reason of at least 20 characters'),
  categories: z.array(SensitiveCategorySchema).optional(),
});
/** An acknowledgement. */
export type Acknowledgement = z.infer<typeof AcknowledgementSchema>;

/** An ignore path: a plain path, or a path with an acknowledgement of the sensitive fields it covers. */
export const IgnorePathSchema = z.union([
  FieldPathSchema,
  z.strictObject({
    path: FieldPathSchema,
    acknowledged: AcknowledgementSchema.optional(),
    reason: z.string().optional(),
  }),
]);
/** An ignore path. */
export type IgnorePath = z.infer<typeof IgnorePathSchema>;

// ---------------------------------------------------------------- Team

/** A person on a team. */
export const TeamMemberSchema = z.strictObject({
  email: z.email('expected an e-mail address'),
  name: z.string().optional(),
  slackUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]+$/, 'expected a Slack user id such as U04MARIA')
    .optional(),
  githubLogin: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'expected a GitHub login')
    .optional(),
  /**
   * Every other name this person acts under, as audit logs spell it: self-approval is judged on
   * the person, so a change made as `maria.lopez` (IAM) is hers as much as one made by e-mail.
   */
  identities: z
    .strictObject({
      iamUserNames: z.array(z.string().trim().min(1)).optional(),
      ssoPrincipals: z.array(z.string().trim().min(1)).optional(),
      roleSessionNames: z.array(z.string().trim().min(1)).optional(),
      kubernetesUsers: z.array(z.string().trim().min(1)).optional(),
      displayNames: z.array(z.string().trim().min(1)).optional(),
    })
    .optional(),
  /**
   * The person's SSH public keys (`ssh-ed25519 AAAA…`, as in authorized_keys): `driftplane approve`
   * signs answers with one of them (`ssh-keygen -Y sign`), and the lifecycle verifies the signature.
   */
  sshPublicKeys: z
    .array(z.string().trim().regex(/^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( .*)?$/, 'expected an Ed25519 SSH public key: ssh-ed25519 AAAA… [comment]'))
    .optional(),
});
/** A team member. */
export type TeamMember = z.infer<typeof TeamMemberSchema>;

/** A named group of a team's members who may approve; units reference it in `approvers`. */
export const ApproverGroupSchema = z.strictObject({
  name: NameSchema,
  members: z
    .array(z.email('expected an e-mail address'))
    .min(1, 'an approver group needs at least one member'),
});
/** An approver group. */
export type ApproverGroup = z.infer<typeof ApproverGroupSchema>;

/** `Team`: members, approver groups, where the team is reached and which break-glass roles it holds. */
export const TeamSchema = document(
  'Team',
  z.strictObject({
    displayName: z.string().optional(),
    slackChannel: z
      .string()
      .regex(/^#[a-z0-9][a-z0-9._-]*$/, 'expected a Slack channel such as #team-checkout')
      .optional(),
    email: z.email().optional(),
    githubTeam: z.string().optional(),
    members: z.array(TeamMemberSchema).min(1, 'a team needs at least one member'),
    approverGroups: z.array(ApproverGroupSchema).default([]),
    breakGlassRoles: z.array(RoleArnSchema).optional(),
  }),
);
/** A team. */
export type Team = z.infer<typeof TeamSchema>;

// ---------------------------------------------------------------- DriftManagedUnit

/** Where the desired state lives. */
export const UnitSourceSchema = z.strictObject({
  repo: z.string().min(1),
  path: z.string().min(1),
  revision: z.string().min(1).default('main'),
});

/** Where the recorded state lives. */
export const UnitStateSchema = z
  .strictObject({
    backend: z.enum(['s3', 'gcs', 'azurerm', 'http', 'pg', 'kubernetes', 'local', 'argocd', 'flux', 'none']),
    bucket: z.string().optional(),
    key: z.string().optional(),
    region: z.string().optional(),
    dynamodbTable: z.string().optional(),
    path: z.string().optional(),
    url: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.backend === 's3' || s.backend === 'gcs') && !s.key)
      ctx.addIssue({
        code: 'custom',
        path: ['key'],
        message: `backend ${s.backend} needs the state object key`,
        params: { rule: 'state-location' },
      });
    if ((s.backend === 'local' || s.backend === 'kubernetes') && !s.path && !s.key)
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: `backend ${s.backend} needs a path or key`,
        params: { rule: 'state-location' },
      });
  });

/**
 * Where a bearer token (an Argo CD API token, a Kubernetes service-account token) is read from at
 * detection time: an environment variable of the worker or a file (a mounted Secret). Never the
 * token itself: the registry is in Git.
 */
export const TokenRefSchema = z
  .strictObject({
    env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as ARGOCD_TOKEN').optional(),
    file: z.string().min(1).optional(),
  })
  .superRefine((t, ctx) => {
    if (!t.env === !t.file)
      ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of env or file', params: { rule: 'token-one-source' } });
  });
/** A token reference. */
export type TokenRef = z.infer<typeof TokenRefSchema>;

/** The stack-scoped credentials a detector uses (never one global role, §25.3). */
export const UnitCredentialsSchema = z
  .strictObject({
    oidcRole: RoleArnSchema.optional(),
    roleArn: RoleArnSchema.optional(),
    sessionTags: LabelsSchema.optional(),
    externalId: z.string().optional(),
    /** A bearer token for the unit's API (Argo CD, Kubernetes): where to read it, never its value. */
    token: TokenRefSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.oidcRole && c.roleArn) || (!c.oidcRole && !c.roleArn && !c.token))
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'expected exactly one of oidcRole or roleArn (or only a token for an API-only unit)',
        params: { rule: 'credentials-one-role' },
      });
  });

/** How a unit is detected (issue 11): the plan mode, state-only units, and the unmanaged-resource scan. */
export const UnitDetectionSchema = z.strictObject({
  /**
   * The plan detector's mode for a stack with a source: `normal` (`tofu plan`: desired against
   * recorded and actual), `refresh-only` (recorded against actual only) or `off` (a state-only unit:
   * only the inventory scan reads it). Default `normal`.
   */
  plan: z.enum(['normal', 'refresh-only', 'off']).default('normal'),
  /** Scan the unit's account for resources no registered stack manages (IMPORT candidates). Default: true for aws-account units. */
  unmanaged: z.boolean().optional(),
  /** The plan binary (`tofu`, `terraform`, `terragrunt`); default by unit type. */
  binary: z.string().min(1).optional(),
});
/** A unit's detection settings. */
export type UnitDetection = z.infer<typeof UnitDetectionSchema>;

/** The GitOps object a Kubernetes unit is (an Argo CD Application, a Flux Kustomization or HelmRelease). */
export const UnitGitOpsSchema = z.strictObject({
  /** The Argo CD API server (https://argocd.example.com); Argo CD units only. */
  server: z.url('expected the Argo CD server URL').optional(),
  /** The object's name; default the unit's name. */
  name: z.string().min(1).optional(),
  /** The object's namespace (Argo CD `appNamespace`, the Flux object's namespace). Default `argocd` / `flux-system`. */
  namespace: z.string().min(1).optional(),
});
/** A unit's GitOps object. */
export type UnitGitOps = z.infer<typeof UnitGitOpsSchema>;

/**
 * What a unit is expected to cost (§5.8): monthly prices per size (an instance type, a node size),
 * over the built-in table; a size change that raises the monthly cost by more than
 * `tolerancePercent` is COST_DRIFT.
 */
export const UnitCostSchema = z.strictObject({
  prices: z.record(z.string().min(1), z.number().nonnegative()).optional(),
  tolerancePercent: z.number().nonnegative().default(10),
});
/** A unit's cost expectations. */
export type UnitCost = z.infer<typeof UnitCostSchema>;

/** How often a unit is scanned: a frequency (`hourly`, `daily`, `weekly` or a duration) or a cron expression. */
export const UnitScheduleSchema = z
  .strictObject({
    frequency: z
      .string()
      .regex(
        /^(hourly|daily|weekly|[1-9]\d*(m|h|d))$/,
        'expected hourly, daily, weekly or a duration such as 15m',
      )
      .optional(),
    cron: z
      .string()
      .regex(/^\S+(\s+\S+){4}$/, 'expected a 5-field cron expression such as "*/15 * * * *"')
      .optional(),
    jitter: DurationSchema.optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.frequency === !s.cron)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'expected exactly one of frequency or cron',
        params: { rule: 'schedule-one-of' },
      });
  });

/** What may happen to a unit's drift without a person. */
export const UnitPoliciesSchema = z.strictObject({
  autoHeal: z.boolean().default(false),
  requireIncidentForManualChange: z.boolean().default(false),
  autoHealPolicy: NameSchema.optional(),
  /** Answers without proven identity (a raw Temporal UI Update or signal) count. Default: true except in prod. */
  allowUnauthenticatedApprovals: z.boolean().optional(),
  /** How often a hotfix window on this unit may be extended (each by an approver). Default 1. */
  maxHotfixExtensions: z.number().int().min(0).max(10).optional(),
  /** How reconciliation actions run for this unit (§12): PR timing, migrations, destructive actions, regressions. */
  reconcile: z
    .strictObject({
      /** A reconciliation PR left open this long escalates like an unanswered approval. Default 72h. */
      prTimeout: DurationSchema.optional(),
      /** How often the lifecycle asks the PR's state itself, covering lost webhooks. Default 15m. */
      prPollInterval: DurationSchema.optional(),
      /** Where MIGRATION_PLAN puts its migration skeleton, relative to the unit's source path. Default `migrations`. */
      migrationsPath: z.string().min(1).optional(),
      /** DESTROY_RECREATE is refused unless this is true (and it is never auto-healed). */
      allowDestroyRecreate: z.boolean().default(false),
      /** The same drift seen again this soon after a RECONCILED close reopens as a regression. Default 7d. */
      reopenWindow: DurationSchema.optional(),
    })
    .optional(),
});

/** `DriftManagedUnit` (§22): one scan target with its owner, sources, credentials, schedule and policies. */
export const DriftManagedUnitSchema = document(
  'DriftManagedUnit',
  z.strictObject({
    type: UnitTypeSchema,
    owner: NameSchema,
    environment: EnvironmentSchema,
    riskTier: RiskTierSchema,
    domain: UnitDomainSchema.optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1')
      .optional(),
    account: z
      .string()
      .regex(/^\d{12}$/, 'expected a 12-digit AWS account id')
      .optional(),
    cluster: z.string().optional(),
    namespaces: z.array(z.string()).optional(),
    source: UnitSourceSchema,
    state: UnitStateSchema.optional(),
    credentials: UnitCredentialsSchema.optional(),
    schedule: UnitScheduleSchema.optional(),
    policies: UnitPoliciesSchema.default({ autoHeal: false, requireIncidentForManualChange: false }),
    detection: UnitDetectionSchema.optional(),
    gitops: UnitGitOpsSchema.optional(),
    cost: UnitCostSchema.optional(),
    evidence: z.strictObject({ retention: RetentionSchema }).optional(),
    approvers: z.array(NameSchema).default([]),
    labels: LabelsSchema.default({}),
    breakGlassRoles: z.array(RoleArnSchema).optional(),
    /**
     * The unit's credential boundary (domain/boundaries.ts, docs/temporal.md): its detect, reconcile
     * and verify activities run on the task queue `driftplane.<boundary>`, polled only by workers
     * that serve it (DRIFTPLANE_BOUNDARIES). `auto` derives it: `aws-<account>`, else
     * `k8s-<cluster>`, else `git-<org>` of the source. Unset: the control queue.
     */
    boundary: z.string().regex(BOUNDARY_NAME, 'expected auto or a boundary name (a-z, 0-9, "-", at most 63 characters)').optional(),
  }).superRefine((u, ctx) => {
    if (u.boundary === AUTO_BOUNDARY && derivedBoundary(u) === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['boundary'],
        message: 'boundary auto needs an account, a cluster or a source repository with an organization to derive it from; name the boundary instead',
        params: { rule: 'boundary-derivable' },
      });
  }),
);
/** A drift-managed unit. */
export type DriftManagedUnit = z.infer<typeof DriftManagedUnitSchema>;

// ---------------------------------------------------------------- DriftOwnershipRule

/** The resources an ownership rule or exception is about: Kubernetes group/kind, or an IaC resource type. */
export const ResourceSelectorSchema = z
  .strictObject({
    group: z.string().optional(),
    kind: z.string().optional(),
    resourceType: z
      .string()
      .regex(/^[a-z0-9]+_[a-z0-9_]+$/, 'expected an IaC resource type such as aws_security_group')
      .optional(),
    namespaces: z.array(z.string()).optional(),
    names: z.array(z.string()).optional(),
  })
  .superRefine((r, ctx) => {
    if (!r.kind && !r.resourceType)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'expected kind (with group) or resourceType',
        params: { rule: 'resource-selector' },
      });
  });
/** A resource selector. */
export type ResourceSelector = z.infer<typeof ResourceSelectorSchema>;

/** A field owned by a controller or policy engine, optionally only under a condition. */
export const OwnedFieldSchema = z.strictObject({
  path: FieldPathSchema,
  owner: z.string().min(1),
  condition: z.string().optional(),
  acknowledged: AcknowledgementSchema.optional(),
});
/** An owned field. */
export type OwnedField = z.infer<typeof OwnedFieldSchema>;

/** `DriftOwnershipRule` (§8.3): which plane or controller owns which fields of a resource. */
export const DriftOwnershipRuleSchema = document(
  'DriftOwnershipRule',
  z.strictObject({
    resource: ResourceSelectorSchema,
    appliesTo: z.strictObject({ units: UnitSelectorSchema }).optional(),
    gitOwned: z.array(FieldPathSchema).default([]),
    runtimeOwned: z.array(IgnorePathSchema).default([]),
    controllerOwned: z.array(OwnedFieldSchema).default([]),
    policyOwned: z.array(OwnedFieldSchema).default([]),
  }),
);
/** An ownership rule. */
export type DriftOwnershipRule = z.infer<typeof DriftOwnershipRuleSchema>;

// ---------------------------------------------------------------- AutoHealPolicy

/** `AutoHealPolicy` (§9.2): where auto-heal may act, on which paths, and within which bounds. `mode: deny` forbids it. */
export const AutoHealPolicySchema = document(
  'AutoHealPolicy',
  z
    .strictObject({
      mode: z.enum(['allow', 'deny']).default('allow'),
      appliesTo: z.strictObject({
        resourceKinds: z.array(z.string()).optional(),
        namespaces: z
          .strictObject({ names: z.array(z.string()).optional(), matchLabels: LabelsSchema.optional() })
          .optional(),
        units: UnitSelectorSchema.optional(),
      }),
      allowedPaths: z.array(FieldPathSchema).default([]),
      deniedPaths: z.array(FieldPathSchema).default([]),
      maxObjectsPerReconcile: z.number().int().min(1).max(1000).optional(),
      requireHealthyBeforeHeal: z.boolean().default(true),
      evidenceRequired: z.boolean().default(true),
      deniedDriftClasses: z.array(DriftClassSchema).default([]),
      /** The controller-fight breaker (§24.3): this many auto-heals of one drift within `window` stop auto-heal for it. */
      breaker: z.strictObject({ maxHeals: z.number().int().min(1).max(100).default(3), window: DurationSchema.default('1h') }).optional(),
    })
    .superRefine((p, ctx) => {
      if (p.mode === 'allow' && p.allowedPaths.length === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['allowedPaths'],
          message: 'an allow policy needs at least one allowed path (auto-heal must have scope)',
          params: { rule: 'auto-heal-scope' },
        });
      if (p.mode === 'allow' && p.maxObjectsPerReconcile === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['maxObjectsPerReconcile'],
          message: 'an allow policy needs maxObjectsPerReconcile (a bounded blast radius)',
          params: { rule: 'auto-heal-scope' },
        });
    }),
);
/** An auto-heal policy. */
export type AutoHealPolicy = z.infer<typeof AutoHealPolicySchema>;

// ---------------------------------------------------------------- RoutingPolicy

/** Where a route sends a finding. `team` means the team's Slack channel; `owner` the finding owner's. */
export const TargetSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('slack'),
    channel: z.string().regex(/^#[a-z0-9][a-z0-9._-]*$/, 'expected a Slack channel such as #sec-oncall'),
  }),
  z.strictObject({
    type: z.literal('github-issue'),
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/repo'),
    labels: z.array(z.string()).optional(),
  }),
  z.strictObject({ type: z.literal('webhook'), url: z.url('expected a URL') }),
  z.strictObject({ type: z.literal('email'), address: z.email('expected an e-mail address') }),
  z.strictObject({ type: z.literal('team'), team: NameSchema }),
  z.strictObject({ type: z.literal('owner') }),
]);
/** A notification target. */
export type Target = z.infer<typeof TargetSchema>;

function oneOrMany<T extends z.ZodType>(s: T) {
  return z.union([s, z.array(s).min(1)]);
}

/** What a route matches; every given field must match, a list matches any of its values. */
export const RouteMatchSchema = z.strictObject({
  driftClass: oneOrMany(DriftClassSchema).optional(),
  domain: oneOrMany(UnitDomainSchema).optional(),
  environment: oneOrMany(EnvironmentSchema).optional(),
  severity: oneOrMany(SeveritySchema).optional(),
  owner: oneOrMany(NameSchema).optional(),
  labels: LabelsSchema.optional(),
});
/** A route's match. */
export type RouteMatchSpec = z.infer<typeof RouteMatchSchema>;

/** One route. */
export const RouteSchema = z.strictObject({
  name: z.string().optional(),
  match: RouteMatchSchema.default({}),
  notify: z.array(TargetSchema).default([]),
  createIncident: z.boolean().default(false),
  createIssue: z.boolean().default(false),
  /** Distinct approvers a reconciliation of a matching finding needs (default: 2 for CRITICAL, 1 otherwise). */
  requiredApprovals: z.number().int().min(1).max(5).optional(),
  /** Where an INCIDENT action opens its incident: PagerDuty Events API v2, a GitHub issue, or the console (default). */
  incident: z
    .discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('pagerduty'),
        /** The environment variable holding the integration's routing key (default PAGERDUTY_ROUTING_KEY); the key itself is never in the registry. */
        routingKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name').optional(),
      }),
      z.strictObject({ type: z.literal('github-issue'), repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/repo'), labels: z.array(z.string()).optional() }),
      z.strictObject({ type: z.literal('console') }),
    ])
    .optional(),
});
/** A route. */
export type Route = z.infer<typeof RouteSchema>;

/** `RoutingPolicy` (§19): ordered routes; the first match wins. Policies are tried by `priority` (lower first), then name. */
export const RoutingPolicySchema = document(
  'RoutingPolicy',
  z.strictObject({
    priority: z.number().int().min(0).default(100),
    routes: z.array(RouteSchema).min(1, 'a routing policy needs at least one route'),
  }),
);
/** A routing policy. */
export type RoutingPolicy = z.infer<typeof RoutingPolicySchema>;

// ---------------------------------------------------------------- DriftBudget

/** A time objective: `percent` of findings within `within`. */
export const ObjectiveSchema = z.strictObject({
  within: DurationSchema,
  percent: z.number().min(0).max(100),
});

/** `DriftBudget` (§10, §10.1): the tolerated amount and age of drift for one domain and environment, with its SLOs. */
export const DriftBudgetSchema = document(
  'DriftBudget',
  z.strictObject({
    domain: UnitDomainSchema,
    environment: EnvironmentSchema,
    owner: NameSchema.optional(),
    minRisk: SeveritySchema.optional(),
    maxUnclassified: z.number().int().min(0),
    maxAge: DurationSchema,
    detectionInterval: DurationSchema,
    timeToClassify: ObjectiveSchema.optional(),
    timeToReconcile: ObjectiveSchema.optional(),
    slos: z.array(z.string().min(1)).default([]),
  }),
);
/** A drift budget. */
export type DriftBudget = z.infer<typeof DriftBudgetSchema>;

// ---------------------------------------------------------------- DriftException

/** What an exception covers. `unit` is required; narrow it further by kind, name, namespace or resource address. */
export const ExceptionScopeSchema = z.strictObject({
  unit: NameSchema,
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  resourceAddress: z.string().optional(),
});
/** An exception scope. */
export type ExceptionScope = z.infer<typeof ExceptionScopeSchema>;

/** `DriftException` (§14, §14.1): an accepted, owned, approved and expiring difference. */
export const DriftExceptionSchema = document(
  'DriftException',
  z
    .strictObject({
      scope: ExceptionScopeSchema,
      paths: z.array(IgnorePathSchema).min(1, 'an exception needs at least one path'),
      reason: z.string().min(10, 'expected a reason of at least 10 characters'),
      owner: NameSchema,
      approvedBy: z.email("expected the approver's e-mail address"),
      approvedAt: InstantSchema,
      expiresAt: InstantSchema.optional(),
      permanent: z.boolean().default(false),
      justification: z.string().optional(),
      compensatingDetector: z.string().min(1).optional(),
      ticket: z.string().optional(),
    })
    .superRefine((e, ctx) => {
      if (e.permanent) {
        if (!e.justification || e.justification.trim().length < 20)
          ctx.addIssue({
            code: 'custom',
            path: ['justification'],
            message: 'a permanent exception needs a justification of at least 20 characters',
            params: { rule: 'exception-permanent-justification' },
          });
        if (e.expiresAt !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['expiresAt'],
            message: 'a permanent exception has no expiresAt (remove one of them)',
            params: { rule: 'exception-expiry' },
          });
      } else if (e.expiresAt === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['expiresAt'],
          message:
            'expiresAt is required (at most 90 days after approvedAt), unless permanent: true with a justification',
          params: { rule: 'exception-expiry' },
        });
      }
    }),
);
/** A drift exception. */
export type DriftException = z.infer<typeof DriftExceptionSchema>;

// ---------------------------------------------------------------- RedactionPolicy

/** A regular expression in a RedactionPolicy: it must compile, and a value pattern must not match the empty string. */
const RedactionPatternSchema = (what: 'key' | 'value') =>
  z
    .string()
    .min(1)
    .max(500)
    .superRefine((p, ctx) => {
      let re: RegExp;
      try {
        re = new RegExp(p, what === 'key' ? 'i' : '');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
        return;
      }
      if (what === 'value' && re.test(''))
        ctx.addIssue({ code: 'custom', message: 'a value pattern must not match the empty string' });
    });

/**
 * `RedactionPolicy` (issue 8): patterns that add to the built-in redaction rules (docs/redaction.md).
 * They never remove one; every RedactionPolicy of a registry applies to every unit.
 */
export const RedactionPolicySchema = document(
  'RedactionPolicy',
  z.strictObject({
    /** Keys, env names and flag names (tested case-insensitively) whose values are secret. */
    keyPatterns: z.array(RedactionPatternSchema('key')).default([]),
    /** Credential shapes searched in every string; each match is replaced. */
    valuePatterns: z.array(RedactionPatternSchema('value')).default([]),
    description: z.string().optional(),
  }),
);
/** A redaction policy. */
export type RedactionPolicy = z.infer<typeof RedactionPolicySchema>;

// ---------------------------------------------------------------- ChangeFreeze

/** One frozen period: from `start` to `end` (ISO instants). */
export const FreezeWindowSchema = z.strictObject({
  start: InstantSchema,
  end: InstantSchema,
  reason: z.string().optional(),
});

/**
 * `ChangeFreeze` (issue 11, §13): a calendar of periods in which changes outside the emergency
 * process are not expected. A drift detected inside a window on a unit it covers carries
 * `changeFreeze` in its context. Empty selectors cover every unit.
 */
export const ChangeFreezeSchema = document(
  'ChangeFreeze',
  z.strictObject({
    windows: z.array(FreezeWindowSchema).min(1, 'a freeze calendar needs at least one window'),
    environments: z.array(EnvironmentSchema).optional(),
    domains: z.array(UnitDomainSchema).optional(),
    units: z.array(NameSchema).optional(),
    description: z.string().optional(),
  }),
);
/** A change-freeze calendar. */
export type ChangeFreeze = z.infer<typeof ChangeFreezeSchema>;

// ---------------------------------------------------------------- CompliancePolicy

/** One requirement on a field of the resources a policy selects (JSON pointer into the live object). */
export const ComplianceRuleSchema = z
  .strictObject({
    path: z.string().regex(/^\//, 'expected a JSON pointer such as /spec/template/spec/securityContext/runAsNonRoot'),
    equals: z.unknown().optional(),
    notEquals: z.unknown().optional(),
    oneOf: z.array(z.unknown()).optional(),
    description: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    const n = [r.equals, r.notEquals, r.oneOf].filter((v) => v !== undefined).length;
    if (n !== 1)
      ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of equals, notEquals or oneOf', params: { rule: 'compliance-rule-one-test' } });
  });

/**
 * `CompliancePolicy` (issue 11, §3 policy drift, §5.6): a versioned rule set with the instant it
 * took effect. A resource that violates it and was created before `effectiveFrom` is POLICY_DRIFT
 * (a migration); one created after is unauthorized.
 */
export const CompliancePolicySchema = document(
  'CompliancePolicy',
  z.strictObject({
    version: z.string().min(1),
    effectiveFrom: InstantSchema,
    resource: ResourceSelectorSchema,
    rules: z.array(ComplianceRuleSchema).min(1, 'a policy needs at least one rule'),
    units: z.array(NameSchema).optional(),
    description: z.string().optional(),
  }),
);
/** A compliance policy. */
export type CompliancePolicy = z.infer<typeof CompliancePolicySchema>;

/** The schema of each kind. */
export const kindSchemas = {
  DriftManagedUnit: DriftManagedUnitSchema,
  DriftOwnershipRule: DriftOwnershipRuleSchema,
  AutoHealPolicy: AutoHealPolicySchema,
  RoutingPolicy: RoutingPolicySchema,
  DriftBudget: DriftBudgetSchema,
  DriftException: DriftExceptionSchema,
  Team: TeamSchema,
  RedactionPolicy: RedactionPolicySchema,
  ChangeFreeze: ChangeFreezeSchema,
  CompliancePolicy: CompliancePolicySchema,
} as const;

/** Any registry document. */
export const RegistryDocumentSchema = z.discriminatedUnion('kind', [
  DriftManagedUnitSchema,
  DriftOwnershipRuleSchema,
  AutoHealPolicySchema,
  RoutingPolicySchema,
  DriftBudgetSchema,
  DriftExceptionSchema,
  TeamSchema,
  RedactionPolicySchema,
  ChangeFreezeSchema,
  CompliancePolicySchema,
]);
/** Any registry document (parsed). */
export type RegistryDocument = z.infer<typeof RegistryDocumentSchema>;
