import type { Command } from 'commander';
import { registerClassifyCommands } from './classify';
import { registerDevCommands } from './dev';
import { registerEvidenceCommands } from './evidence';
import { registerLifecycleCommands } from './lifecycle';
import { registerPlanCommands } from './plan';
import { registerRegistryCommands } from './registry';
import { registerScheduleCommands } from './schedules';

/** A command group adds its subcommands to the program. One file per group in this folder. */
export type RegisterCommands = (program: Command) => void;

/** Every command group, in the order `--help` lists them. */
export const commandGroups: RegisterCommands[] = [
  registerDevCommands,
  registerLifecycleCommands,
  registerEvidenceCommands,
  registerScheduleCommands,
  registerPlanCommands,
  registerClassifyCommands,
  registerRegistryCommands,
];
