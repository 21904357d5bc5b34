import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError, ToolError } from '../domain/errors';
import { SSH_NAMESPACE, verifySshSignature } from '../domain/signing/ssh';
import { utf8 } from '../domain/signing/bytes';
import {
  canonicalStatement,
  type ApprovalStatement,
  type SignedStatement,
} from '../domain/signing/statement';

/**
 * The SSH private key an answer is signed with: `--key`, else DRIFTPLANE_SSH_KEY, else
 * ~/.ssh/id_ed25519 when it exists. A key named explicitly must exist. Undefined: no key.
 */
export function resolveSshKey(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const named = flag ?? env.DRIFTPLANE_SSH_KEY;
  if (named) {
    const file = path.resolve(named.replace(/^~(?=\/)/, os.homedir()));
    if (!existsSync(file))
      throw new InputError('no such SSH private key', { file, field: flag ? '--key' : 'DRIFTPLANE_SSH_KEY' });
    return file;
  }
  const fallback = path.join(os.homedir(), '.ssh', 'id_ed25519');
  return existsSync(fallback) ? fallback : undefined;
}

/**
 * Signs a statement with an SSH key the way Git signs commits: `ssh-keygen -Y sign -n
 * driftplane-approval` over the canonical statement. A passphrase is asked on the terminal by
 * ssh-keygen itself; ssh-keygen also uses ssh-agent when the key file is a public key held there.
 */
export async function signWithSshKey(
  keyFile: string,
  statement: ApprovalStatement,
): Promise<SignedStatement> {
  const message = canonicalStatement(statement);
  const armored = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      'ssh-keygen',
      ['-q', '-Y', 'sign', '-f', keyFile, '-n', SSH_NAMESPACE],
      { timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException;
          if (e.code === 'ENOENT')
            reject(new ToolError('ssh-keygen is not on PATH: it signs answers (OpenSSH 8.1 or later)'));
          else
            reject(
              new InputError(`ssh-keygen could not sign with this key: ${stderr.trim() || e.message}`, {
                file: keyFile,
                field: '--key',
              }),
            );
        } else resolve(stdout);
      },
    );
    child.stdin?.end(message);
  });
  // The signature names its key; check it before sending, so a wrong key type fails here with a clear message.
  const checked = verifySshSignature(armored, utf8(message));
  if (!checked.ok)
    throw new InputError(
      `cannot use this key: ${checked.why}; driftplane needs an Ed25519 SSH key (ssh-keygen -t ed25519)`,
      { file: keyFile, field: '--key' },
    );
  return {
    statement,
    signer: { kind: 'ssh', keyId: checked.publicKey.fingerprint, publicKey: checked.publicKey.line },
    signature: armored.trim(),
  };
}
