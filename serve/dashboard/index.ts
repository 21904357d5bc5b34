import type { Ledger } from '../../ledger';
import type { Config } from '../../workers/config';
import type { ServeModule } from '../server';
import type { DashboardAuth } from './session';

/** What the dashboard reads. */
export interface DashboardDeps {
  config: Config;
  ledger: Ledger;
  auth: Pick<DashboardAuth, 'mode' | 'userOf' | 'csrfTokenFor'>;
  now?: () => Date;
}

/** The dashboard's read views: `/`, `/platform`, `/owner`, `/security`, `/findings/:id` (TODO: dashboard work). */
export function dashboardModule(deps: DashboardDeps): ServeModule {
  void deps;
  return { name: 'dashboard', register: () => undefined };
}
