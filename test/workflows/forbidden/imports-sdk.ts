// A workflow that breaks the rules: it pulls the Temporal client SDK into workflow code.
import { Connection } from '@temporalio/client';

export async function badWorkflow(): Promise<string> {
  return typeof Connection;
}
