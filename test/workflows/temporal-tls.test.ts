/**
 * Temporal over mutual TLS, configured by an envconfig profile (issue 13 §2, "Temporal Cloud"):
 * certificates made here by openssl, a TLS endpoint in front of the run's dev server (the dev
 * server has no TLS flags; test/support/tls-front.ts), a TOML profile naming the CA and the client
 * certificate, and the worker, the client and the real CLI connecting through that profile only.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client, Connection } from '@temporalio/client';
import { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { InputError, ToolError } from '../../domain/errors';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import type { Config } from '../../workers/config';
import { connectTemporal, connectTemporalWorker, loadTemporalConnection } from '../../workers/connection';
import { createDriftplaneWorker, type DriftplaneWorker } from '../../workers/create-worker';
import { quietTemporalLogs, testConfig, workflowBundle } from '../support/lifecycle-helpers';
import { repoRoot } from '../support/shared-fixtures';
import { makeTestPki, type TestPki } from '../support/tls-certs';
import { startTlsFront, type TlsFront } from '../support/tls-front';

const run = promisify(execFile);
const cli = path.join(repoRoot, 'bin', 'driftplane.cjs');

let pki: TestPki;
let front: TlsFront;
let profileFile: string;
let config: Config;
let w: DriftplaneWorker;
let running: Promise<void>;
let temporal: { client: Client; connection: Connection };

/** The environment of a process that knows Temporal only through the profile file (no TEMPORAL_ADDRESS). */
function profileEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_CONFIG_FILE: profileFile,
    DRIFTPLANE_HOME: config.home,
    DRIFTPLANE_LEDGER_URL: config.ledger.url,
    ...extra,
  };
  for (const k of Object.keys(env))
    if (k.startsWith('TEMPORAL_') && !(k in extra) && k !== 'TEMPORAL_CONFIG_FILE' && k !== 'TEMPORAL_CLI')
      delete env[k];
  return env;
}

beforeAll(async () => {
  await quietTemporalLogs();
  pki = await makeTestPki();
  front = await startTlsFront(pki, inject('temporalAddress'));
  profileFile = path.join(pki.dir, 'temporal.toml');
  // The file `temporal config set` writes: one profile with the CA and the client pair, and two that lack one of them.
  await writeFile(
    profileFile,
    [
      '[profile.tls-test]',
      `address = "${front.address}"`,
      'namespace = "default"',
      '[profile.tls-test.tls]',
      `server_ca_cert_path = "${pki.caCert}"`,
      `client_cert_path = "${pki.clientCert}"`,
      `client_key_path = "${pki.clientKey}"`,
      '',
      '[profile.no-ca]',
      `address = "${front.address}"`,
      '[profile.no-ca.tls]',
      `client_cert_path = "${pki.clientCert}"`,
      `client_key_path = "${pki.clientKey}"`,
      '',
      '[profile.no-client-cert]',
      `address = "${front.address}"`,
      '[profile.no-client-cert.tls]',
      `server_ca_cert_path = "${pki.caCert}"`,
      '',
    ].join('\n'),
  );
  // No TEMPORAL_ADDRESS: the address, the CA and the client certificate all come from the profile.
  config = await testConfig('', {
    TEMPORAL_ADDRESS: '',
    TEMPORAL_CONFIG_FILE: profileFile,
    TEMPORAL_PROFILE: 'tls-test',
  });
  w = await createDriftplaneWorker(config, {
    source: { workflowBundle: await workflowBundle() },
    notifier: new ConsoleNotifier(undefined),
  });
  running = w.run();
  temporal = await connectTemporal(config.temporal);
});

afterAll(async () => {
  w?.shutdown();
  await running;
  await w?.close();
  await temporal?.connection.close();
  await front?.close();
});

describe('Temporal over mutual TLS through an envconfig profile', () => {
  it('resolves the profile: the address, the namespace and mutual TLS, with the files named and no key content', () => {
    expect(config.temporalAddress).toBe(front.address);
    expect(config.namespace).toBe('default');
    expect(config.temporal).toMatchObject({
      address: front.address,
      profile: 'tls-test',
      configFile: profileFile,
      security: 'mtls',
      apiKey: false,
    });
    expect(config.temporal.describe).toContain(pki.caCert);
    expect(config.temporal.describe).toContain(pki.clientCert);
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');
  });

  it('runs a lifecycle on a worker that reached Temporal only through the TLS endpoint', async () => {
    await seedDemoSandbox(config.planesDir, new Date());
    const scan = (await temporal.client.workflow.execute('unitScan', {
      workflowId: `scan:catalog-web-staging:tls:${Date.now()}`,
      taskQueue: config.taskQueue,
      args: [{ unit: 'catalog-web-staging' }],
    })) as UnitScanResult;
    expect(scan.status).toBe('drift');
    const finding = (scan as Extract<UnitScanResult, { status: 'drift' }>).findings[0]!;
    const s = (await temporal.client.workflow.getHandle(finding.workflowId).result()) as LifecycleState;
    expect(s.outcome).toBe('RECONCILED');
    // Every connection in this test (worker, client) presented the client certificate the profile names.
    expect(front.authorized.length).toBeGreaterThanOrEqual(2);
    expect(new Set(front.authorized)).toEqual(new Set(['driftplane-worker']));
  });

  it('lists that lifecycle with the real CLI, given only the profile (--profile, and TEMPORAL_PROFILE)', async () => {
    const before = front.authorized.length;
    const viaFlag = await run(
      'node',
      [cli, 'findings', '--json', '--unit', 'catalog-web-staging', '--profile', 'tls-test'],
      { env: profileEnv(), timeout: 60_000 },
    );
    const listed = JSON.parse(viaFlag.stdout) as { findings: { findingId: string; status: string }[] };
    expect(
      listed.findings.some((f) => f.findingId.startsWith('catalog-web-staging:') && f.status === 'COMPLETED'),
    ).toBe(true);
    const viaEnv = await run('node', [cli, 'findings', '--json', '--unit', 'catalog-web-staging'], {
      env: profileEnv({ TEMPORAL_PROFILE: 'tls-test' }),
      timeout: 60_000,
    });
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ findings: listed.findings });
    expect(front.authorized.length).toBeGreaterThan(before);
  });

  it('without the CA, fails with an error naming the address, the profile and where the CA was looked for', async () => {
    const noCa = loadTemporalConnection({ TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: 'no-ca' });
    const err = await connectTemporal(noCa).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolError);
    const message = (err as ToolError).message;
    expect(message).toContain(`cannot reach Temporal at ${front.address}`);
    expect(message).toContain(`profile "no-ca" of ${profileFile}`);
    expect(message).toContain('CA system roots');
    expect((err as ToolError).hint).toMatch(/server_ca_cert_path/);
    // The worker's connection (Rust core) refuses the same server for the same reason.
    await expect(connectTemporalWorker(noCa)).rejects.toThrow(
      new RegExp(`cannot reach Temporal at ${front.address.replace(/\./g, '\\.')} .*profile "no-ca"`),
    );
  });

  it('without a client certificate, the TLS endpoint refuses the handshake and the CLI exits 3 naming the profile', async () => {
    const refusedBefore = front.refused.length;
    const r = await run('node', [cli, 'findings', '--json', '--profile', 'no-client-cert'], {
      env: profileEnv(),
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach Temporal at ${front.address}`);
    expect(r.stderr).toContain('profile "no-client-cert"');
    expect(r.stderr).not.toContain('PRIVATE KEY');
    expect(front.refused.length).toBeGreaterThan(refusedBefore);
  });

  it('names the file when a profile does not exist, and a missing TEMPORAL_CONFIG_FILE', () => {
    expect(() =>
      loadTemporalConnection({ TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: 'nope' }),
    ).toThrow(InputError);
    expect(() =>
      loadTemporalConnection({ TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: 'nope' }),
    ).toThrow(`${profileFile} field profile.nope: no [profile.nope] in ${profileFile}`);
    expect(() => loadTemporalConnection({ TEMPORAL_CONFIG_FILE: path.join(pki.dir, 'absent.toml') })).toThrow(
      /TEMPORAL_CONFIG_FILE=.*absent\.toml does not exist/,
    );
  });
});
