import { ClassifyInputSchema, type ClassifyInput } from '../../../domain/classify';
import { deepMerge } from '../../../domain/classify/policy-test';
import { loadDecisionTable } from '../../../registry/decision-table';

/** The default decision table, loaded once. */
export const table = loadDecisionTable();

/** A fixed evaluation time so decisions are reproducible. */
export const NOW = new Date('2026-07-03T10:30:00Z');

type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** A stateless app in production whose fields Git owns, detected by a healthy detector. */
export const statelessApp = {
  unit: {
    name: 'checkout-web-prod',
    type: 'argocd-app',
    owner: 'team-checkout',
    environment: 'prod',
    riskTier: 'standard',
    domain: 'app',
    policies: { autoHeal: true, requireIncidentForManualChange: false },
  },
  change: {
    resourceRef: 'apps/Deployment/checkout/web',
    resourceType: 'apps/Deployment',
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields: ['/metadata/labels/team'],
  },
  context: {
    actor: { id: 'bob@example.com', type: 'human', source: 'k8s-audit' },
    detector: { status: 'ok', lastSuccessAt: '2026-07-03T10:25:00Z' },
    healthy: true,
  },
} as const;

/** A critical production network stack (domain text §22). */
export const networkStack = {
  unit: {
    name: 'payments-prod-network',
    type: 'opentofu-stack',
    owner: 'platform-network',
    environment: 'prod',
    riskTier: 'critical',
    domain: 'cloud-network',
    policies: { autoHeal: false, requireIncidentForManualChange: true },
  },
  change: {
    resourceRef: 'aws_security_group.app_public',
    resourceType: 'aws_security_group',
    relationship: 'recorded!=actual',
    changeType: 'modified',
    changedFields: ['/ingress/0/cidr_blocks', '/ingress/0/from_port'],
  },
  context: {
    actor: {
      id: 'alice@example.com',
      type: 'human',
      source: 'cloudtrail',
      eventTime: '2026-07-03T10:11:02Z',
    },
    detector: { status: 'ok', lastSuccessAt: '2026-07-03T10:22:31Z' },
  },
} as const;

/** Builds a validated input from a base and overrides (objects merge; arrays and scalars replace). */
export function inputOf(
  base: object,
  over: DeepPartial<ClassifyInput> | Record<string, unknown> = {},
): ClassifyInput {
  return ClassifyInputSchema.parse(deepMerge(base, over));
}

/** Removes a key at a dotted path (to drop e.g. `context.actor`). */
export function without(input: ClassifyInput, dotted: string): ClassifyInput {
  const copy = structuredClone(input) as unknown as Record<string, unknown>;
  const keys = dotted.split('.');
  let node: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  delete node[keys[keys.length - 1] as string];
  return ClassifyInputSchema.parse(copy);
}
