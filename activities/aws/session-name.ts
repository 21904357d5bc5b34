import { createHash } from 'node:crypto';
import type { AwsUnit } from './config';

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * The STS RoleSessionName for a unit: its name with characters outside `[\w+=,.@-]` replaced by
 * `-`, at least 2 and at most 64 characters; a long name keeps a hash of the full name so two
 * units never share a session name. CloudTrail then names the unit in every call it makes.
 */
export function sessionNameFor(unitName: string): string {
  if (/^[\w+=,.@-]{2,64}$/.test(unitName)) return unitName;
  // Sanitizing or trimming may map two names onto one; a hash of the full name keeps them apart.
  const suffix = `-${shortHash(unitName)}`;
  return unitName.replace(/[^\w+=,.@-]/g, '-').slice(0, 64 - suffix.length) + suffix;
}

/** Replaces characters STS does not allow in session tag values and trims to 256 characters. */
export function sessionTagValue(value: string): string {
  const clean = value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
  return clean === '' ? '_' : clean;
}

/** Session tags for a unit: unit, owner and environment, so the role's policies and CloudTrail can key on them. */
export function sessionTagsFor(
  unit: Pick<AwsUnit, 'name' | 'owner' | 'environment'>,
): { Key: string; Value: string }[] {
  return [
    { Key: 'unit', Value: sessionTagValue(unit.name) },
    { Key: 'owner', Value: sessionTagValue(unit.owner) },
    { Key: 'environment', Value: sessionTagValue(unit.environment) },
  ];
}
