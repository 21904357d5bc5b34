// A workflow that breaks the rules: it reads a file. The bundler must refuse it.
import { readFileSync } from 'node:fs';

export async function badWorkflow(): Promise<string> {
  return readFileSync('/etc/hostname', 'utf8');
}
