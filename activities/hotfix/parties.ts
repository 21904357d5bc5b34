import { loadRegistry, type Registry } from '../../registry';

/** Loads the registry for a hotfix window; an invalid registry is an error naming its first problem (retried). */
export async function loadHotfixRegistry(dir: string): Promise<Registry> {
  const result = await loadRegistry(dir);
  if (!result.ok) {
    const first = result.errors[0];
    throw new Error(`registry at ${dir} is invalid (${result.errors.length} problem(s)); first: ${first?.file}:${first?.line ?? '?'} ${first?.message}`);
  }
  return result.registry;
}
