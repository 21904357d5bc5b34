import { describe, expect, it } from 'vitest';
import type { IncidentInput } from '../../../activities/incident';
import {
  consoleIncident,
  IncidentAdapterNotConfigured,
  incidentAdapterFor,
} from '../../../activities/incident';
import { RouteSchema } from '../../../domain/registry/schemas';
import { startPagerDutyServer } from './pagerduty-server';

const INPUT: IncidentInput = {
  findingId: 'finding:payments/network:3f9c2a71',
  title: 'Manual change to aws_security_group.web in prod',
  summary: 'ingress 0.0.0.0/0:22 added by alice\nsecond line',
  severity: 'error',
  source: 'payments/network',
  links: [{ href: 'https://driftplane.example.com/f/1', text: 'Finding' }],
};

/** A route's incident setting as the registry parses it. */
const incidentOf = (incident: unknown) => RouteSchema.parse({ incident }).incident;

function sink() {
  let text = '';
  return { write: (s: string) => (text += s), text: () => text };
}

describe('consoleIncident', () => {
  it('prints one incident block per finding and returns console:<findingId>; a second open finds it', async () => {
    const out = sink();
    const adapter = consoleIncident(out);
    expect(await adapter.open(INPUT)).toEqual({
      adapter: 'console',
      incidentId: `console:${INPUT.findingId}`,
      created: true,
    });
    expect(await adapter.open(INPUT)).toEqual({
      adapter: 'console',
      incidentId: `console:${INPUT.findingId}`,
      created: false,
    });
    const lines = out.text().trimEnd().split('\n');
    expect(lines[0]).toBe(`=== INCIDENT ERROR console:${INPUT.findingId} ===`);
    expect(lines.at(-1)).toBe(`=== end of incident console:${INPUT.findingId} ===`);
    expect(out.text()).toContain('summary:  "ingress 0.0.0.0/0:22 added by alice\\nsecond line"'); // a value cannot forge a line
    expect(out.text().match(/=== INCIDENT/g)).toHaveLength(1);
  });
});

describe('incidentAdapterFor', () => {
  it('no setting, or console: the console adapter', () => {
    expect(incidentAdapterFor(undefined, { env: {}, log: sink() }).name).toBe('console');
    expect(incidentAdapterFor(incidentOf({ type: 'console' }), { env: {}, log: sink() }).name).toBe(
      'console',
    );
  });

  it('the default console adapter is shared: a finding opened through two lookups is one incident', async () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (written.push(s), true)) as typeof process.stderr.write;
    try {
      const first = await incidentAdapterFor(undefined, { env: {} }).open({
        ...INPUT,
        findingId: 'shared-console',
      });
      const second = await incidentAdapterFor(incidentOf({ type: 'console' }), { env: {} }).open({
        ...INPUT,
        findingId: 'shared-console',
      });
      expect([first.created, second.created]).toEqual([true, false]);
      expect(written.join('').match(/=== INCIDENT/g)).toHaveLength(1);
    } finally {
      process.stderr.write = write;
    }
  });

  it('pagerduty without its routing key variable: IncidentAdapterNotConfigured naming the variable', () => {
    expect(() => incidentAdapterFor(incidentOf({ type: 'pagerduty' }), { env: {} })).toThrow(
      IncidentAdapterNotConfigured,
    );
    expect(() => incidentAdapterFor(incidentOf({ type: 'pagerduty' }), { env: {} })).toThrow(
      /PAGERDUTY_ROUTING_KEY/,
    );
    expect(() =>
      incidentAdapterFor(incidentOf({ type: 'pagerduty', routingKeyEnv: 'PD_PAYMENTS_KEY' }), {
        env: { PAGERDUTY_ROUTING_KEY: 'x'.repeat(32) },
      }),
    ).toThrow(/PD_PAYMENTS_KEY/);
  });

  it('pagerduty with routingKeyEnv: sends with that variable key to the configured endpoint', async () => {
    const pd = await startPagerDutyServer();
    try {
      const key = 'PAYMENTSR0UT1NGK3Y0123456789abcd';
      const adapter = incidentAdapterFor(
        incidentOf({ type: 'pagerduty', routingKeyEnv: 'PD_PAYMENTS_KEY' }),
        {
          env: { PD_PAYMENTS_KEY: key },
          pagerDutyUrl: pd.url,
        },
      );
      expect(adapter.name).toBe('pagerduty');
      expect(await adapter.open(INPUT)).toMatchObject({ adapter: 'pagerduty', incidentId: INPUT.findingId });
      expect((pd.received[0] as { routing_key: string }).routing_key).toBe(key);
    } finally {
      await pd.close();
    }
  });

  it('github-issue: needs GITHUB_TOKEN', () => {
    const cfg = incidentOf({ type: 'github-issue', repo: 'acme/platform-incidents', labels: ['sev1'] });
    expect(() => incidentAdapterFor(cfg, { env: {} })).toThrow(/GITHUB_TOKEN/);
    expect(incidentAdapterFor(cfg, { env: { GITHUB_TOKEN: 'ghs_x' } }).name).toBe('github-issue');
  });
});
