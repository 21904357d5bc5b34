/**
 * The demo's AWS sandbox (cli/demo-aws-sandbox.ts: the `payments-prod-network` stack of the example
 * registry, a security group whose tcp/22 was opened to the world out of band) in a real moto
 * server whose request recorder is on, for chaos scenarios that count what reached AWS.
 */
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  awsSandboxPaths,
  DEMO_AWS,
  DEMO_AWS_APPROVER,
  DEMO_AWS_CREDENTIALS,
  DEMO_AWS_SECOND_APPROVER,
  DEMO_AWS_UNIT,
  seedAwsSandbox,
} from '../../cli/demo-aws-sandbox';
import { startMotoServer, type MotoServer } from '../../cli/moto-server';

export { DEMO_AWS_APPROVER, DEMO_AWS_SECOND_APPROVER, DEMO_AWS_UNIT };

/** A moto server for the sandbox account, recording every AWS request it serves. */
export interface RecordingMoto extends MotoServer {
  /** Wipes moto, seeds the sandbox (state, roles, the out-of-band change) and starts a fresh recording. */
  seed(home: string): Promise<void>;
  /** The AWS API actions (`Action=` of the query protocol, or `METHOD path` otherwise) recorded since the seed. */
  actions(): Promise<string[]>;
}

/**
 * Starts moto for the sandbox account. Its recorder writes to a file of its own (the variable is
 * set only while moto starts: the spawned process takes a copy of the environment).
 */
export async function startRecordingMoto(): Promise<RecordingMoto> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'driftplane-chaos-moto-')), 'recording.jsonl');
  const saved = process.env.MOTO_RECORDER_FILEPATH;
  process.env.MOTO_RECORDER_FILEPATH = file;
  let moto: MotoServer;
  try {
    moto = await startMotoServer({ accountId: DEMO_AWS.account });
  } finally {
    if (saved === undefined) delete process.env.MOTO_RECORDER_FILEPATH;
    else process.env.MOTO_RECORDER_FILEPATH = saved;
  }
  const api = async (what: string): Promise<string> => {
    const res = await fetch(`${moto.endpoint}/moto-api/recorder/${what}`, {
      method: what === 'download-recording' ? 'GET' : 'POST',
    });
    if (!res.ok) throw new Error(`moto recorder ${what}: ${res.status}`);
    return res.text();
  };
  return {
    ...moto,
    async stop() {
      await moto.stop();
      await rm(path.dirname(file), { recursive: true, force: true });
    },
    async seed(home) {
      await api('stop-recording');
      await moto.reset();
      await seedAwsSandbox(moto.endpoint, home, new Date());
      await api('reset-recording');
      await api('start-recording');
    },
    async actions() {
      const text = await api('download-recording');
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => {
          const e = JSON.parse(l) as { method: string; url: string; body?: string; body_encoded?: boolean };
          const body =
            e.body_encoded && e.body ? Buffer.from(e.body, 'base64').toString('utf8') : (e.body ?? '');
          const action =
            new URLSearchParams(body).get('Action') ?? new URL(e.url, 'http://x').searchParams.get('Action');
          return action ?? `${e.method} ${new URL(e.url, 'http://x').pathname}`;
        });
    },
  };
}

/** The worker environment that points the sandbox unit at `endpoint` (moto, or a relay in front of it). */
export function sandboxWorkerEnv(endpoint: string, home: string): Record<string, string> {
  const { tokenFile, cloudTrailDir } = awsSandboxPaths(home);
  return {
    DRIFTPLANE_AWS_ENDPOINT: endpoint,
    DRIFTPLANE_AWS_REGION: DEMO_AWS.region,
    DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    DRIFTPLANE_CLOUDTRAIL: cloudTrailDir,
    // The unit assumes its role with the OIDC token; base keys keep the SDK from asking an instance metadata service.
    AWS_ACCESS_KEY_ID: DEMO_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEMO_AWS_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** The ingress rules of the sandbox's security group, as `protocol/from-to source` strings, sorted. */
export async function sandboxIngress(endpoint: string): Promise<string[]> {
  const ec2 = new EC2Client({ region: DEMO_AWS.region, endpoint, credentials: DEMO_AWS_CREDENTIALS });
  try {
    const out = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['payments-app'] }] }),
    );
    const group = out.SecurityGroups?.[0];
    if (!group) throw new Error('the sandbox security group payments-app is gone');
    return (group.IpPermissions ?? [])
      .flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.IpProtocol}/${p.FromPort}-${p.ToPort} ${r.CidrIp}`))
      .sort();
  } finally {
    ec2.destroy();
  }
}
