/**
 * Opening an evidence store from explicit settings, and checkpointing its log on a timer. Nothing
 * here reads the environment: workers/config.ts (and the CLI) map variables onto
 * `EvidenceSettings` with `evidenceSettingsFrom`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { LocalEvidenceStore } from './evidence-store';
import type { CheckpointResult, CheckpointSigner } from './log';
import { parseS3Url, S3EvidenceStore } from './s3-store';
import type { EvidenceStore, EvidenceStoreOptions } from './store';
import { EvidenceSettingsError, type EvidenceSettings } from './settings';

export { EvidenceSettingsError, EvidenceVariablesSchema, evidenceSettingsFrom, type EvidenceSettings, type EvidenceVariables } from './settings';

/** The folder of a `file:` URL or a plain path; undefined for an `s3://` URL. */
function folderOf(url: string): string | undefined {
  if (url.startsWith('s3://')) return undefined;
  if (url.startsWith('file:')) {
    try {
      return fileURLToPath(url);
    } catch (err) {
      throw new EvidenceSettingsError(`"${url}" is not a file: URL of a folder (${(err as Error).message})`);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    throw new EvidenceSettingsError(
      `"${url}" is neither a folder, file:///<folder> nor s3://<bucket>/<prefix>`,
    );
  return path.resolve(url);
}

/**
 * The default origin of a store's log: `driftplane.evidence/s3/<bucket>/<prefix>` for S3,
 * `driftplane.evidence/local` for a folder. Set `origin` to a name unique to the installation
 * (a schema-less URL, c2sp.org/tlog-checkpoint) when several logs may be compared.
 */
export function defaultOrigin(url: string): string {
  if (!url.startsWith('s3://')) return 'driftplane.evidence/local';
  const { bucket, prefix } = parseS3Url(url);
  return `driftplane.evidence/s3/${bucket}${prefix ? `/${prefix.replace(/\/$/, '')}` : ''}`.replace(
    /[\s+]/g,
    '_',
  );
}

/**
 * Opens the evidence store the settings name: the local folder store, or the S3 store with
 * Object Lock. `options` are the store options (`onAppend` feeding the ledger, test file ops).
 */
export function openEvidenceStore(
  settings: EvidenceSettings,
  options: EvidenceStoreOptions = {},
): EvidenceStore {
  for (const [field, r] of [
    ['retention', settings.retention],
    ['logRetention', settings.logRetention],
  ] as const)
    if (r !== undefined && !/^[1-9]\d*(d|w|m|y)$/.test(r))
      throw new EvidenceSettingsError(`${field} "${r}" is not a period such as 400d, 6w, 18m or 7y`);
  const folder = folderOf(settings.url);
  if (folder !== undefined) return new LocalEvidenceStore(folder, options);
  let where: { bucket: string; prefix: string };
  try {
    where = parseS3Url(settings.url);
  } catch (err) {
    throw new EvidenceSettingsError((err as Error).message);
  }
  const client = new S3Client({
    region: settings.region ?? 'us-east-1',
    ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint, forcePathStyle: true } : {}),
    ...(settings.s3Credentials ? { credentials: settings.s3Credentials } : {}),
  });
  return new S3EvidenceStore(
    {
      client,
      ...where,
      ...(settings.retention !== undefined ? { retention: settings.retention } : {}),
      ...(settings.retentionFor ? { retentionFor: settings.retentionFor } : {}),
      ...(settings.logRetention !== undefined ? { logRetention: settings.logRetention } : {}),
    },
    options,
  );
}

/** The checkpoint signer of the settings; undefined when they hold no key. */
export function checkpointSignerOf(settings: EvidenceSettings): CheckpointSigner | undefined {
  const key =
    typeof settings.checkpointKey === 'function' ? settings.checkpointKey() : settings.checkpointKey;
  if (!key) return undefined;
  if (key.length !== 32)
    throw new EvidenceSettingsError(
      'the checkpoint key is not a 32-byte Ed25519 secret key (the value is not shown)',
    );
  return { origin: settings.origin ?? defaultOrigin(settings.url), secretKey: key };
}

/**
 * Signs a checkpoint of the store's log now, unless no record was added since the last one.
 * For `driftplane evidence checkpoint` and the worker's schedule.
 */
export function publishCheckpoint(store: EvidenceStore, signer: CheckpointSigner): Promise<CheckpointResult> {
  return store.log.checkpoint(signer);
}

/**
 * Adds to the log every record not in it yet (records written before the log existed), finding
 * by finding in chain order. A finding whose chain does not verify is left out and named: adopting
 * it would vouch for records that were changed. Run it once after upgrading, before a checkpoint.
 */
export async function adoptUnlogged(store: EvidenceStore): Promise<{ adopted: number; skipped: string[] }> {
  let adopted = 0;
  const skipped: string[] = [];
  for (const { findingId } of await store.listFindings()) {
    if (findingId === undefined) continue;
    if (!(await store.verify(findingId)).ok) {
      skipped.push(findingId);
      continue;
    }
    for (const record of await store.read(findingId)) {
      if ((await store.log.indexOf(record)) !== undefined) continue;
      await store.log.add(record, { fresh: false });
      adopted += 1;
    }
  }
  return { adopted, skipped };
}

/**
 * Publishes a checkpoint every `everyMs` (and once at start), until `stop()`. A failure is
 * passed to `onError` and the next tick tries again; ticks never overlap. The timer does not keep
 * the process alive. `stop()` resolves once a checkpoint in progress has finished.
 */
export function startCheckpointing(
  store: EvidenceStore,
  signer: CheckpointSigner,
  opts: { everyMs: number; onCheckpoint?: (r: CheckpointResult) => void; onError?: (err: unknown) => void },
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = (): void => {
    running = running.then(async () => {
      if (stopped) return;
      try {
        opts.onCheckpoint?.(await publishCheckpoint(store, signer));
      } catch (err) {
        opts.onError?.(err);
      }
    });
  };
  tick();
  const timer = setInterval(tick, opts.everyMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
