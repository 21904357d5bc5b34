/**
 * People and the names they act under. An audit log names an actor however its system spells it
 * (an IAM user name, an assumed-role session ARN, an SSO principal, a Kubernetes user, a display
 * name); self-approval is judged on the person behind it, never on string equality. Pure.
 */

/** Every identity the registry knows for one person (a team member). */
export interface PersonIdentities {
  email: string;
  name?: string;
  slackUserId?: string;
  githubLogin?: string;
  identities?: {
    iamUserNames?: readonly string[];
    ssoPrincipals?: readonly string[];
    roleSessionNames?: readonly string[];
    kubernetesUsers?: readonly string[];
    displayNames?: readonly string[];
  };
}

/** Invisible characters that change nothing a person sees: zero-width, bidi marks, BOM, soft hyphen. */
const INVISIBLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * The comparable form of an identity: Unicode NFKC, invisible characters removed, white space
 * trimmed and collapsed, lower case. `Maria.Lopez ` and `maria.lopez` are the same name.
 */
export function normalizeIdentity(raw: string): string {
  return raw.normalize('NFKC').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

/**
 * The names an audit actor may stand for, normalized: the whole string and, for an AWS ARN, the
 * part that names a person (an IAM user's name, an assumed role's session name, a federated
 * user's name); for a Kubernetes user, the name without an `oidc:`-style prefix.
 */
export function actorCandidates(actorId: string): string[] {
  const id = normalizeIdentity(actorId);
  const out = new Set<string>([id]);
  const arn = /^arn:[^:]+:(iam|sts|identitystore)::\d{0,12}:(user|assumed-role|federated-user)\/(.+)$/.exec(id);
  if (arn) {
    const [, , kind, rest = ''] = arn;
    const parts = rest.split('/').filter(Boolean);
    // user/<path...>/<name>; assumed-role/<role>/<session>; federated-user/<name>
    const name = kind === 'assumed-role' ? parts.slice(1).join('/') : parts[parts.length - 1];
    if (name) out.add(name);
  }
  // Kubernetes OIDC users are often prefixed by the API server's --oidc-username-prefix.
  const prefixed = /^(oidc|sso|okta|azure|google|github):(.+)$/.exec(id);
  if (prefixed?.[2]) out.add(prefixed[2]);
  return [...out].filter((x) => x.length > 0);
}

/** Every normalized name one person acts under. */
export function namesOf(p: PersonIdentities): Set<string> {
  const i = p.identities ?? {};
  return new Set(
    [
      p.email,
      p.name,
      p.slackUserId,
      p.githubLogin,
      ...(i.iamUserNames ?? []),
      ...(i.ssoPrincipals ?? []),
      ...(i.roleSessionNames ?? []),
      ...(i.kubernetesUsers ?? []),
      ...(i.displayNames ?? []),
    ]
      .filter((x): x is string => typeof x === 'string' && x.trim().length > 0)
      .map(normalizeIdentity),
  );
}

/** Who an audit actor is: a person of the registry, or why it could not be told. */
export type ActorResolution =
  | { resolved: true; person: string; matched: string }
  | { resolved: false; why: string };

/**
 * Resolves an audit actor to one person of the registry. A name two people share resolves to
 * neither: guessing would let the wrong person approve.
 */
export function resolveActor(actorId: string, people: readonly PersonIdentities[]): ActorResolution {
  const candidates = actorCandidates(actorId);
  const hits = new Map<string, string>();
  for (const p of people) {
    const names = namesOf(p);
    const match = candidates.find((c) => names.has(c));
    if (match !== undefined) hits.set(normalizeIdentity(p.email), match);
  }
  if (hits.size === 1) {
    const [person, matched] = [...hits.entries()][0]!;
    return { resolved: true, person, matched };
  }
  if (hits.size > 1) return { resolved: false, why: `the actor's name is shared by ${hits.size} people in the registry` };
  return { resolved: false, why: 'no person in the registry acts under that name' };
}
