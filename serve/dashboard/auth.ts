import type { Config } from '../../workers/config';
import type { ApprovalStatement, SignedStatement } from '../../domain/signing/statement';
import type { DashboardAuth } from './session';

/** Builds the dashboard's sign-in and answer routes from the configuration (TODO: dashboard-auth work). */
export async function createDashboardAuth(
  config: Config,
  opts: { listenHost: string; log?: (line: string) => void; sign?: (s: ApprovalStatement) => SignedStatement },
): Promise<DashboardAuth> {
  void config;
  void opts;
  return {
    mode: 'off',
    module: { name: 'dashboard-auth', register: () => undefined },
    userOf: () => undefined,
    csrfTokenFor: () => undefined,
    close: async () => undefined,
  };
}
