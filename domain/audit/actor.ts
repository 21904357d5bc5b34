import { z } from 'zod';
import type { CloudTrailRecord } from './cloudtrail';

/** Who made a change, as correlation tells them apart. */
export const ActorTypeSchema = z.enum(['human', 'break-glass', 'ci-iac', 'aws-service', 'unknown']);
/** Who made a change. */
export type ActorType = z.infer<typeof ActorTypeSchema>;

/** Identities that correlation must recognise; break-glass role ARNs come from config or the registry. */
export interface ActorConfig {
  /** IAM role ARNs (`arn:aws:iam::<account>:role/<path/>name`) whose sessions are break-glass. */
  breakGlassRoleArns?: readonly string[];
}

const IAC_AGENT = /\b(terraform|opentofu|tofu)\/|terraform-provider-aws|hashicorp\/\S+\s+terraform/i;
const CONSOLE_AGENT =
  /^(console|signin)\.amazonaws\.com$|^AWSConsole$|^Mozilla\/|ConsoleBackend|^console\.ec2\.amazonaws\.com$/i;
const CLI_AGENT = /^aws-cli\/|^ec2-api-tools\b|\baws-cli\//i;
const SERVICE_HOST = /^[a-z0-9.-]+\.amazonaws\.com$/i;

/** Account and role name of a role ARN or an assumed-role session ARN; role paths are ignored. */
export function roleIdentity(arn: string): { account: string; role: string } | undefined {
  const m = /^arn:[^:]+:(iam|sts)::(\d{12}):(role|assumed-role)\/(.+)$/.exec(arn);
  if (!m) return undefined;
  const [, , account, kind, rest] = m;
  if (!account || !rest) return undefined;
  const parts = rest.split('/');
  // role/<path...>/<name>; assumed-role/<name>/<session>
  const role = kind === 'role' ? parts[parts.length - 1] : parts[0];
  return role ? { account, role } : undefined;
}

/**
 * True when one of the candidate ARNs (a role ARN, an assumed-role session ARN) is one of the
 * break-glass role ARNs: the same ARN, or the same account and role name (role paths and session
 * names ignored). Shared by CloudTrail and Kubernetes audit (EKS puts the IAM ARNs in `user.extra`).
 */
export function matchesBreakGlassRole(candidates: readonly string[], breakGlassRoleArns: readonly string[]): boolean {
  if (breakGlassRoleArns.length === 0) return false;
  const wanted = breakGlassRoleArns
    .map(roleIdentity)
    .filter((x): x is { account: string; role: string } => x !== undefined);
  return candidates.some((arn) => {
    if (breakGlassRoleArns.includes(arn)) return true;
    const id = roleIdentity(arn);
    return id !== undefined && wanted.some((w) => w.account === id.account && w.role === id.role);
  });
}

function isBreakGlass(record: CloudTrailRecord, arns: readonly string[]): boolean {
  const candidates = [
    record.userIdentity?.sessionContext?.sessionIssuer?.arn,
    record.userIdentity?.arn,
  ].filter((x): x is string => typeof x === 'string');
  return matchesBreakGlassRole(candidates, arns);
}

/**
 * Names the actor of a record: the IAM user name, the session name of an assumed role (under SSO
 * usually the person's e-mail), `root`, or the service that acted.
 */
export function actorName(record: CloudTrailRecord): string {
  const id = record.userIdentity;
  if (!id) return 'unknown';
  if (id.type === 'AWSService') return id.invokedBy ?? record.userAgent ?? 'aws-service';
  if (id.type === 'Root') return id.arn ?? 'root';
  if (id.userName) return id.userName;
  if (id.type === 'AssumedRole' && id.arn) {
    const session = id.arn.split('/').slice(2).join('/');
    if (session) return session;
  }
  return id.arn ?? id.principalId ?? 'unknown';
}

/**
 * Tells apart the kinds of actor behind a record, in this order: a configured break-glass role
 * (whatever tool it used); an AWS service (identity type AWSService, `invokedBy`, or a service
 * host as user agent); CI/IaC (Terraform or OpenTofu user agents); a human (console or aws-cli
 * user agents, or a long-lived IAM user / root identity); otherwise unknown.
 */
export function classifyActor(record: CloudTrailRecord, config: ActorConfig = {}): ActorType {
  const ua = record.userAgent ?? '';
  const id = record.userIdentity;
  if (isBreakGlass(record, config.breakGlassRoleArns ?? [])) return 'break-glass';
  const consoleAgent = CONSOLE_AGENT.test(ua) || record.sessionCredentialFromConsole === 'true';
  if (id?.type === 'AWSService' || id?.invokedBy !== undefined || (SERVICE_HOST.test(ua) && !consoleAgent))
    return 'aws-service';
  if (IAC_AGENT.test(ua)) return 'ci-iac';
  if (consoleAgent || CLI_AGENT.test(ua)) return 'human';
  // A long-lived IAM user or the root user belongs to a person; assumed roles without a telling agent do not say.
  if (id?.type === 'IAMUser' || id?.type === 'Root' || id?.type === 'IdentityCenterUser') return 'human';
  return 'unknown';
}
