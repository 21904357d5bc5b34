import { startMotoServer, type MotoServer } from '../../cli/moto-server';

export type { MotoServer } from '../../cli/moto-server';

/** Fake static credentials for the base client: moto accepts anything, and nothing real is ever used. */
export const motoCredentials = {
  accessKeyId: 'AKIAMOTOTESTBASE0001',
  secretAccessKey: 'moto-test-secret-not-real',
};

/** The account moto uses by default. */
export const motoAccountId = '123456789012';

/** Starts a real moto_server on a free 127.0.0.1 port (one per test file). */
export function startMoto(timeoutMs = 30_000): Promise<MotoServer> {
  return startMotoServer({ timeoutMs });
}
