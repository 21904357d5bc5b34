import { readFile } from 'node:fs/promises';
import type { TokenRef } from '../domain/registry/schemas';

/** A token reference that gives no usable token: unset variable, unreadable or empty file, or a value no header can carry. */
export class TokenUnavailable extends Error {
  override readonly name = 'TokenUnavailable';
}

/** Characters an HTTP header value cannot carry. */
const BAD_HEADER_CHARS = /[\r\n\0]/;

/**
 * Reads a bearer token from its registry reference (`credentials.token`: an environment variable
 * of the worker or a mounted file) at the time of the call, trimmed. The one implementation every
 * adapter uses (Argo CD, Kubernetes, PagerDuty). Errors name where the token should be, never a
 * value.
 */
export async function readTokenRef(ref: TokenRef, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let raw: string | undefined;
  let where: string;
  if (ref.env) {
    where = `variable ${ref.env}`;
    raw = env[ref.env];
    if (raw === undefined) throw new TokenUnavailable(`the token variable ${ref.env} is not set on this worker`);
  } else if (ref.file) {
    where = `file ${ref.file}`;
    try {
      raw = await readFile(ref.file, 'utf8');
    } catch (err) {
      throw new TokenUnavailable(`the token file ${ref.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    throw new TokenUnavailable('the token reference names neither env nor file');
  }
  const token = raw.trim();
  if (!token) throw new TokenUnavailable(`the token ${where} is empty`);
  if (BAD_HEADER_CHARS.test(token)) throw new TokenUnavailable(`the token ${where} holds characters a header cannot carry`);
  return token;
}
