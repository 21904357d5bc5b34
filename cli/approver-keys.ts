import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { isMap, isSeq, parseAllDocuments } from 'yaml';
import { normalizeIdentity } from '../domain/identity';
import { listRegistryFiles } from '../registry/load-registry';

const run = promisify(execFile);

/** A registry whose people have SSH keys, and where each person's private key is. */
export interface KeyedRegistry {
  registryDir: string;
  /** The private key file of the person with this identity (e-mail, Slack id or GitHub login); undefined for anyone else. */
  keyFor(identity: string): string | undefined;
}

/**
 * For the demo and tests: copies a registry to `outDir/registry`, makes an Ed25519 SSH key pair
 * for every team member in `outDir/keys` (with real `ssh-keygen`; kept when it exists), and
 * registers each public key as the member's `sshPublicKeys`. Private keys never enter the
 * repository: the example registry stays keyless, and `driftplane approve --key` signs with them.
 */
export async function provisionApproverKeys(sourceDir: string, outDir: string): Promise<KeyedRegistry> {
  const registryDir = path.join(outDir, 'registry');
  const keysDir = path.join(outDir, 'keys');
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  await cp(sourceDir, registryDir, { recursive: true });
  const keys = new Map<string, string>();
  for (const file of await listRegistryFiles(registryDir)) {
    const docs = parseAllDocuments(await readFile(file, 'utf8'));
    let changed = false;
    for (const doc of docs) {
      if (doc.get('kind') !== 'Team') continue;
      const members = doc.getIn(['spec', 'members']);
      if (!isSeq(members)) continue;
      for (const m of members.items) {
        if (!isMap(m)) continue;
        const email = String(m.get('email'));
        const keyFile = path.join(keysDir, email.replace(/[^A-Za-z0-9@._-]/g, '_'));
        if (!existsSync(keyFile))
          await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', email, '-f', keyFile]);
        m.set('sshPublicKeys', [(await readFile(`${keyFile}.pub`, 'utf8')).trim()]);
        for (const id of [email, m.get('slackUserId'), m.get('githubLogin')])
          if (typeof id === 'string') keys.set(normalizeIdentity(id), keyFile);
        changed = true;
      }
    }
    if (changed) await writeFile(file, docs.map((d) => d.toString({ lineWidth: 0 })).join(''));
  }
  return { registryDir, keyFor: (identity) => keys.get(normalizeIdentity(identity)) };
}
