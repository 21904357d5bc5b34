import type { Command } from 'commander';
import { registerBudgetCommands } from './budgets';
import { registerClassifyCommands } from './classify';
import { registerDbCommands } from './db';
import { registerDevCommands } from './dev';
import { registerEvidenceCommands } from './evidence';
import { registerHotfixCommands } from './hotfix';
import { registerK8sCommands } from './k8s';
import { registerKeysCommands } from './keys';
import { registerLifecycleCommands } from './lifecycle';
import { registerPlanCommands } from './plan';
import { registerPrsCommands } from './prs';
import { registerRegistryCommands } from './registry';
import { registerScheduleCommands } from './schedules';
import { registerServeCommands } from './serve';

/** A command group adds its subcommands to the program. One file per group in this folder. */
export type RegisterCommands = (program: Command) => void;

/** Every command group, in the order `--help` lists them. */
export const commandGroups: RegisterCommands[] = [
  registerDevCommands,
  registerServeCommands,
  registerLifecycleCommands,
  registerPrsCommands,
  registerEvidenceCommands,
  registerBudgetCommands,
  registerDbCommands,
  registerKeysCommands,
  registerHotfixCommands,
  registerScheduleCommands,
  registerPlanCommands,
  registerClassifyCommands,
  registerRegistryCommands,
  registerK8sCommands,
];
