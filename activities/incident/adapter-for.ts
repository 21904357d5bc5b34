import type { Route } from '../../domain/registry/schemas';
import { consoleIncident } from './console-incident';
import { githubIssueIncident } from './github-issue-incident';
import type { IncidentAdapter } from './incident-adapter';
import { IncidentAdapterNotConfigured } from './incident-adapter';
import { pagerDutyIncident } from './pagerduty-incident';

/** A route's `incident` setting (undefined: the console). */
export type IncidentRouteConfig = Route['incident'];

let defaultConsole: IncidentAdapter | undefined;

/** The environment variable of the PagerDuty routing key when the route names none. */
export const DEFAULT_PAGERDUTY_ROUTING_KEY_ENV = 'PAGERDUTY_ROUTING_KEY';
/** The environment variable of the token of the GitHub issue adapter. */
export const GITHUB_TOKEN_ENV = 'GITHUB_TOKEN';

/** Where the adapters' secrets and endpoints come from (the worker's environment by default). */
export interface IncidentEnv {
  env?: NodeJS.ProcessEnv;
  /** The console adapter's log (default stderr). */
  log?: { write(s: string): unknown };
  /** Overrides of the endpoints (tests, GitHub Enterprise): default PAGERDUTY_EVENTS_URL / GITHUB_API_URL from env. */
  pagerDutyUrl?: string;
  githubApiUrl?: string;
}

/**
 * The adapter a route's `incident` setting asks for. The secrets are read from the environment,
 * never from the registry: PagerDuty's routing key from `routingKeyEnv` (default
 * PAGERDUTY_ROUTING_KEY), GitHub's token from GITHUB_TOKEN. A variable that is not set throws
 * {@link IncidentAdapterNotConfigured} naming it, here and not on the first page.
 */
export function incidentAdapterFor(config: IncidentRouteConfig, opts: IncidentEnv = {}): IncidentAdapter {
  const env = opts.env ?? process.env;
  switch (config?.type) {
    case undefined:
    case 'console':
      // Callers look the adapter up per incident: the default console adapter is shared, so a
      // finding opened again is found again instead of printed twice.
      if (opts.log) return consoleIncident(opts.log);
      defaultConsole ??= consoleIncident();
      return defaultConsole;
    case 'pagerduty': {
      const variable = config.routingKeyEnv ?? DEFAULT_PAGERDUTY_ROUTING_KEY_ENV;
      if (!env[variable]) throw new IncidentAdapterNotConfigured('pagerduty', variable);
      const url = opts.pagerDutyUrl ?? env.PAGERDUTY_EVENTS_URL;
      return pagerDutyIncident({
        // Read at each event, so a rotated key is used without a restart.
        routingKey: () => {
          const key = env[variable];
          if (!key) throw new IncidentAdapterNotConfigured('pagerduty', variable);
          return key;
        },
        ...(url ? { url } : {}),
      });
    }
    case 'github-issue': {
      const token = env[GITHUB_TOKEN_ENV];
      if (!token) throw new IncidentAdapterNotConfigured('github-issue', GITHUB_TOKEN_ENV);
      const apiUrl = opts.githubApiUrl ?? env.GITHUB_API_URL;
      return githubIssueIncident({
        token,
        repo: config.repo,
        ...(config.labels ? { labels: config.labels } : {}),
        ...(apiUrl ? { apiUrl } : {}),
      });
    }
  }
}
