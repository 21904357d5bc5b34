import type { Ledger } from '../../ledger';
import type { Config } from '../../workers/config';
import type { ServeModule } from '../server';

/** `GET /metrics`: Prometheus text format (TODO: metrics work). */
export function metricsModule(deps: { config: Config; ledger: Ledger; now?: () => Date }): ServeModule {
  void deps;
  return { name: 'metrics', register: () => undefined };
}
