// The S3 evidence store against a real moto server with Object Lock: records, leaves and checkpoints
// under COMPLIANCE retention; a delete of a locked version refused; seq races settled by conditional
// puts across processes; and `driftplane evidence verify` reading the bucket, overwrites and delete
// markers included.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvidence } from '../../evidence/audit';
import { noteVerifierOf } from '../../evidence/checkpoint';
import { openEvidenceStore, publishCheckpoint } from '../../evidence/open';
import { S3EvidenceStore } from '../../evidence/s3-store';
import { EvidenceWriteFailed } from '../../evidence/store';
import { motoCredentials, startMoto, type MotoServer } from '../support/moto';
import { loadRegistryOrThrow } from '../../registry';
import { withUnitRetention } from '../../workers/evidence-retention';
import { runStartCheck } from '../../workers/check';
import { loadConfig } from '../../workers/config';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const REGION = 'us-east-1';
const SIGNER = {
  origin: 'evidence.test.example/s3',
  secretKey: Uint8Array.from({ length: 32 }, (_, i) => 100 + i),
};
const VKEY = noteVerifierOf(SIGNER.origin, SIGNER.secretKey).vkey;
const DAY = 86_400_000;

let moto: MotoServer;
let client: S3Client;
let bucketCount = 0;

/** A fresh bucket with Object Lock enabled (which also turns versioning on). */
async function lockedBucket(): Promise<string> {
  const bucket = `evidence-${++bucketCount}-${process.pid}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  return bucket;
}

const entry = (findingId: string, i: number, extra: { retention?: string } = {}) => ({
  findingId,
  runId: 'run-1',
  key: `run-1:${i}`,
  step: `step-${i}`,
  at: '2026-11-24T10:00:00.000Z',
  data: { i },
  ...extra,
});

/** Days an object is locked for in COMPLIANCE mode, counted from `since` (epoch ms). */
async function lockedDays(bucket: string, key: string, since: number): Promise<number> {
  const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  expect(h.ObjectLockMode).toBe('COMPLIANCE');
  return Math.round((h.ObjectLockRetainUntilDate!.getTime() - since) / DAY);
}

const errorOf = async (p: Promise<unknown>): Promise<{ name?: string; status?: number }> => {
  try {
    await p;
    return {};
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
};

beforeAll(async () => {
  moto = await startMoto();
  client = new S3Client({
    region: REGION,
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: motoCredentials,
  });
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('S3 evidence store on moto with Object Lock', () => {
  it('puts each record under COMPLIANCE retention: the entry’s, else the unit’s, else the default', async () => {
    const bucket = await lockedBucket();
    const store = new S3EvidenceStore({
      client,
      bucket,
      prefix: 'prod/',
      retentionFor: (f) => (f.startsWith('payments') ? '7y' : undefined),
    });
    const before = Date.now();
    await store.append(entry('checkout:1', 1, { retention: '18m' }));
    await store.append(entry('payments:1', 1));
    await store.append(entry('edge:1', 1));
    const days = (key: string) => lockedDays(bucket, key, before);
    expect(await days('prod/checkout_1/000001.json')).toBeGreaterThanOrEqual(547);
    expect(await days('prod/checkout_1/000001.json')).toBeLessThanOrEqual(553);
    expect(await days('prod/payments_1/000001.json')).toBeGreaterThanOrEqual(2556);
    expect(await days('prod/payments_1/000001.json')).toBeLessThanOrEqual(2558);
    expect(await days('prod/edge_1/000001.json')).toBe(400);
    // The record is the object: pretty JSON, exactly what `evidence show --json` lists.
    const body = await (
      await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'prod/payments_1/000001.json' }))
    ).Body!.transformToString();
    expect(JSON.parse(body)).toMatchObject({ v: 1, findingId: 'payments:1', seq: 1, key: 'run-1:1' });
    // Log leaves and checkpoints are locked too (the log retention defaults to the store's).
    await publishCheckpoint(store, SIGNER);
    expect(await days('prod/.log/leaves/000000000000.json')).toBe(400);
    expect(await days('prod/.log/checkpoints/000000000003')).toBe(400);
  });

  it('as the worker opens it: each record locked for its unit’s registry retention, the log for the longest of them', async () => {
    const bucket = await lockedBucket();
    // The example registry: checkout-web-prod keeps evidence 7y, catalog-web-staging 400d.
    const registry = await loadRegistryOrThrow(path.join(repoRoot, 'registry', 'examples', 'acme'));
    const settings = await withUnitRetention(
      { url: `s3://${bucket}/w/`, s3Endpoint: moto.endpoint, region: REGION, s3Credentials: motoCredentials, retention: '30d' },
      async () => registry,
    );
    expect(settings.logRetention).toBe('7y');
    const store = openEvidenceStore(settings);
    const before = Date.now();
    await store.append(entry('checkout-web-prod:760c28255832dc80', 1));
    await store.append(entry('hotfix:checkout-web-prod:INC-1', 1));
    await store.append(entry('catalog-web-staging:9a8f7b13a79d79cb', 1));
    await store.append(entry('not-registered:1', 1));
    const days = (key: string) => lockedDays(bucket, key, before);
    expect(await days('w/checkout-web-prod_760c28255832dc80/000001.json')).toBeGreaterThanOrEqual(2556);
    expect(await days('w/hotfix_checkout-web-prod_INC-1/000001.json')).toBeGreaterThanOrEqual(2556);
    expect(await days('w/catalog-web-staging_9a8f7b13a79d79cb/000001.json')).toBe(400);
    expect(await days('w/not-registered_1/000001.json')).toBe(30);
    expect(await days('w/.log/leaves/000000000000.json')).toBeGreaterThanOrEqual(2556);
  });

  it('the worker start check (--check) fails on a bucket without Object Lock, names it, and passes on a locked one', async () => {
    const plain = `plain-${process.pid}`;
    await client.send(new CreateBucketCommand({ Bucket: plain }));
    const locked = await lockedBucket();
    const home = await mkdtemp(path.join(os.tmpdir(), 'driftplane-check-s3-'));
    const evidenceItem = async (bucket: string) => {
      const config = loadConfig({
        DRIFTPLANE_HOME: home,
        DRIFTPLANE_EVIDENCE_URL: `s3://${bucket}/prod/`,
        DRIFTPLANE_EVIDENCE_S3_ENDPOINT: moto.endpoint,
        DRIFTPLANE_EVIDENCE_REGION: REGION,
        // Nothing answers here: the Temporal line fails, the evidence line is what this test reads.
        TEMPORAL_ADDRESS: '127.0.0.1:9',
      });
      const report = await runStartCheck('worker', { ...config, evidence: { ...config.evidence, s3Credentials: motoCredentials } });
      return report.items.find((i) => i.name === 'evidence store');
    };
    expect(await evidenceItem(plain)).toMatchObject({ status: 'fail', detail: expect.stringMatching(new RegExp(`^s3://${plain}: .*Object Lock`)) as unknown });
    expect(await evidenceItem(locked)).toMatchObject({ status: 'ok', detail: `s3://${locked}/prod/: Object Lock enabled` });
  }, 60_000);

  it('a DeleteObject of a locked version is refused (403 AccessDenied), one by one and in a batch; the record stays', async () => {
    const bucket = await lockedBucket();
    const store = new S3EvidenceStore({ client, bucket, prefix: '' });
    await store.append(entry('checkout:1', 1));
    const key = 'checkout_1/000001.json';
    const { VersionId } = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(VersionId).toBeTruthy();
    expect(
      await errorOf(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId }))),
    ).toEqual({ name: 'AccessDenied', status: 403 });
    // COMPLIANCE, not GOVERNANCE: bypassing governance retention does not help either.
    expect(
      await errorOf(
        client.send(
          new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId, BypassGovernanceRetention: true }),
        ),
      ),
    ).toEqual({ name: 'AccessDenied', status: 403 });
    const batch = await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: key, VersionId }] } }),
    );
    expect(batch.Errors).toEqual([expect.objectContaining({ Key: key, Code: 'AccessDenied' })]);
    expect((await store.read('checkout:1')).map((r) => r.seq)).toEqual([1]);
  });

  it('idempotent by key; a taken seq is refused by the conditional put (412), so no record is ever overwritten', async () => {
    const bucket = await lockedBucket();
    const store = new S3EvidenceStore({ client, bucket, prefix: 'p/' });
    const first = await store.append(entry('u:1', 1));
    expect(await store.append({ ...entry('u:1', 1), data: { retried: true } })).toEqual(first);
    expect(
      await errorOf(
        client.send(
          new PutObjectCommand({ Bucket: bucket, Key: 'p/u_1/000001.json', Body: '{}', IfNoneMatch: '*' }),
        ),
      ),
    ).toEqual({ name: 'PreconditionFailed', status: 412 });
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'p/u_1/' }));
    expect(versions.Versions).toHaveLength(1);
  });

  it(
    '2 processes × 15 appends to one finding: 30 records, seq 1..30, one version each, each logged once',
    { timeout: 180_000 },
    async () => {
      const bucket = await lockedBucket();
      const script = `
      const { S3Client } = require('@aws-sdk/client-s3');
      const { S3EvidenceStore } = require('./evidence/s3-store');
      const [endpoint, bucket, prefix] = process.argv.slice(1);
      const client = new S3Client({ region: '${REGION}', endpoint, forcePathStyle: true, credentials: ${JSON.stringify(motoCredentials)} });
      const store = new S3EvidenceStore({ client, bucket, prefix: '' });
      process.stdout.write('ready\\n');
      process.stdin.once('data', async () => {
        const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) =>
          store.append({ findingId: 'race:1', runId: prefix, key: prefix + ':' + i, step: 'step', at: new Date().toISOString(), data: { i } })));
        process.stdout.write(JSON.stringify(results.map((r) => r.status === 'fulfilled' ? 'ok' : String(r.reason))) + '\\n');
        process.exit(0);
      });`;
      const children = ['a', 'b'].map((prefix) => {
        const child = spawn(
          process.execPath,
          ['-r', 'tsx/cjs', '-e', script, moto.endpoint, bucket, prefix],
          { cwd: repoRoot },
        );
        let out = '';
        let err = '';
        child.stderr.on('data', (b: Buffer) => (err += b.toString()));
        const ready = new Promise<void>((resolve) =>
          child.stdout.on(
            'data',
            (b: Buffer) => ((out += b.toString()), out.includes('ready\n') && resolve()),
          ),
        );
        const done = new Promise<string[]>((resolve, reject) =>
          child.on('close', (code) =>
            code === 0
              ? resolve(JSON.parse(out.trim().split('\n').pop()!) as string[])
              : reject(new Error(err)),
          ),
        );
        return { child, ready, done };
      });
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.child.stdin.write('go\n');
      const results = await Promise.all(children.map((c) => c.done));
      expect(results.flat().filter((r) => r !== 'ok')).toEqual([]);

      const store = new S3EvidenceStore({ client, bucket, prefix: '' });
      const records = await store.read('race:1');
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(new Set(records.map((r) => r.key)).size).toBe(30);
      expect(await store.verify('race:1')).toEqual({ ok: true, records: 30, problems: [] });
      const versions = await client.send(
        new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'race_1/' }),
      );
      expect(versions.Versions).toHaveLength(30);
      expect(versions.DeleteMarkers ?? []).toEqual([]);
      expect(await store.log.findEnd()).toBe(30);
      await publishCheckpoint(store, SIGNER);
      expect(await auditEvidence(store, { trustedKeys: [VKEY] })).toMatchObject({
        ok: true,
        problems: [],
        warnings: [],
      });
    },
  );

  it('a bucket without Object Lock cannot hold evidence: check() says so, and an append fails retryably', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'evidence-unlocked' }));
    const store = new S3EvidenceStore({ client, bucket: 'evidence-unlocked', prefix: '' });
    await expect(store.check()).rejects.toThrow(/evidence-unlocked: .*Object Lock/);
    await expect(store.append(entry('u:1', 1))).rejects.toBeInstanceOf(EvidenceWriteFailed);
  });
});

describe('driftplane evidence verify on S3', () => {
  let home: string;
  let bucket: string;
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [path.join(repoRoot, 'bin', 'driftplane.cjs'), ...args],
        {
          env: {
            ...process.env,
            DRIFTPLANE_HOME: home,
            DRIFTPLANE_EVIDENCE_URL: `s3://${bucket}/prod`,
            DRIFTPLANE_EVIDENCE_S3_ENDPOINT: moto.endpoint,
            DRIFTPLANE_EVIDENCE_LOG_ORIGIN: SIGNER.origin,
            DRIFTPLANE_EVIDENCE_LOG_KEY: Buffer.from(SIGNER.secretKey).toString('hex'),
            AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
            AWS_REGION: REGION,
          },
          timeout: 120_000,
        },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'evidence-s3-cli-'));
    bucket = await lockedBucket();
    const store = openEvidenceStore({
      url: `s3://${bucket}/prod`,
      s3Endpoint: moto.endpoint,
      region: REGION,
      s3Credentials: motoCredentials,
    });
    for (const i of [1, 2, 3]) for (const f of ['checkout:1', 'payments:2']) await store.append(entry(f, i));
  });

  it('checkpoint, then verify --all: exit 0; an overwritten record and a finding whose objects were deleted: exit 1, each named', async () => {
    const cp = await cli('evidence', 'checkpoint', '--json');
    expect(cp.code, cp.stderr).toBe(0);
    expect(JSON.parse(cp.stdout)).toMatchObject({
      origin: SIGNER.origin,
      size: 6,
      created: true,
      verifierKey: VKEY,
    });
    const ok = await cli('evidence', 'verify', '--all', '--key', VKEY);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('checkout:1: 3 record(s), chain intact, 3 in the log under checkpoint 6');

    // Overwriting is allowed (a new version), deleting the current version only hides it behind a marker.
    const forged = JSON.parse(
      await (
        await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'prod/checkout_1/000002.json' }))
      ).Body!.transformToString(),
    ) as Record<string, unknown>;
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'prod/checkout_1/000002.json',
        Body: JSON.stringify({ ...forged, data: { i: 'forged' } }),
      }),
    );
    for (const seq of [1, 2, 3])
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `prod/payments_2/00000${seq}.json` }));

    const bad = await cli('evidence', 'verify', '--all', '--key', VKEY, '--json');
    expect(bad.code).toBe(1);
    const problems = (JSON.parse(bad.stdout) as { problems: string[] }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        `s3://${bucket}/prod/checkout_1/000002.json: overwritten (2 versions); the first version is the one written by driftplane`,
        expect.stringMatching(
          new RegExp(`^s3://${bucket}/prod/checkout_1/000002.json: not the record the log holds as seq 2`),
        ),
        `payments:2: the log holds 3 record(s) of it under checkpoint 6, but the store has none at s3://${bucket}/prod/payments_2/: the finding was dropped`,
        `s3://${bucket}/prod/payments_2/000001.json: deleted (1 delete marker(s)); its locked versions are still in the bucket's version history`,
      ]),
    );
  });

  it('an unreachable endpoint is exit 3, naming the store', async () => {
    const r = await cli('evidence', 'verify', '--all', '--s3-endpoint', 'http://127.0.0.1:1');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot read the evidence at s3://${bucket}/prod/`);
  });
});
