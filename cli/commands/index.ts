/* eslint-disable @typescript-eslint/no-require-imports -- loading a command group only when it runs is the point of this file */
import type { Command } from 'commander';
import type * as Budgets from './budgets';
import type * as Classify from './classify';
import type * as Db from './db';
import type * as Dev from './dev';
import type * as Evidence from './evidence';
import type * as Hotfix from './hotfix';
import type * as K8s from './k8s';
import type * as Keys from './keys';
import type * as Lifecycle from './lifecycle';
import type * as Plan from './plan';
import type * as Prs from './prs';
import type * as Registry from './registry';
import type * as Schedules from './schedules';
import type * as Serve from './serve';

/** A command group adds its subcommands to the program. One file per group in this folder. */
export type RegisterCommands = (program: Command) => void;

/** Loads one command group's module (and everything it imports) and returns its register function. */
export type CommandGroupLoader = () => RegisterCommands;

/**
 * Every command group, by file. Each `require` runs only when its command is invoked: the top-level
 * program knows names and one-line summaries from COMMANDS below, so `--version`, `--help` and every
 * command load only their own modules (the whole tree is over 500 modules).
 */
export const commandGroupLoaders = {
  dev: () => (require('./dev') as typeof Dev).registerDevCommands,
  serve: () => (require('./serve') as typeof Serve).registerServeCommands,
  lifecycle: () => (require('./lifecycle') as typeof Lifecycle).registerLifecycleCommands,
  prs: () => (require('./prs') as typeof Prs).registerPrsCommands,
  evidence: () => (require('./evidence') as typeof Evidence).registerEvidenceCommands,
  budgets: () => (require('./budgets') as typeof Budgets).registerBudgetCommands,
  db: () => (require('./db') as typeof Db).registerDbCommands,
  keys: () => (require('./keys') as typeof Keys).registerKeysCommands,
  hotfix: () => (require('./hotfix') as typeof Hotfix).registerHotfixCommands,
  schedules: () => (require('./schedules') as typeof Schedules).registerScheduleCommands,
  plan: () => (require('./plan') as typeof Plan).registerPlanCommands,
  classify: () => (require('./classify') as typeof Classify).registerClassifyCommands,
  registry: () => (require('./registry') as typeof Registry).registerRegistryCommands,
  k8s: () => (require('./k8s') as typeof K8s).registerK8sCommands,
} satisfies Record<string, CommandGroupLoader>;

/** The name of a command group (a file in this folder). */
export type CommandGroupName = keyof typeof commandGroupLoaders;

/** A top-level command as `driftplane --help` lists it, and the groups that register it. */
export interface CommandEntry {
  /** The command's name (the first word after `driftplane`). */
  name: string;
  /** How `--help` shows it: the name, `[options]` when it has options, then its arguments (as commander prints them). */
  term: string;
  /** One line for the top-level `--help`; `driftplane <name> --help` prints the full description. */
  summary: string;
  /** The groups that add to it (`schema` gathers a subcommand from several). */
  groups: CommandGroupName[];
}

/**
 * Every top-level command, in the order `--help` lists them. test/unit/cli-lazy-commands.test.ts
 * registers every group and checks this list against what they register.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'dev',
    term: 'dev [options]',
    summary: 'Run the Temporal dev server (if none answers) and a worker locally.',
    groups: ['dev'],
  },
  {
    name: 'demo',
    term: 'demo [options]',
    summary: 'Run the demo end to end: drift, detection, approval, reconcile, verify.',
    groups: ['dev'],
  },
  {
    name: 'serve',
    term: 'serve [options]',
    summary: 'Run the HTTP server: dashboard, /metrics, Slack and GitHub endpoints.',
    groups: ['serve'],
  },
  {
    name: 'findings',
    term: 'findings [options]',
    summary: 'List drift lifecycles, newest first, and units not fully covered.',
    groups: ['lifecycle'],
  },
  {
    name: 'show',
    term: 'show [options] <findingId>',
    summary: 'Show one lifecycle: stage, decision, approvals, timeline.',
    groups: ['lifecycle'],
  },
  {
    name: 'approve',
    term: 'approve [options] <findingId>',
    summary: "Approve a lifecycle's proposed reconciliation (signed, with a reason).",
    groups: ['lifecycle'],
  },
  {
    name: 'reject',
    term: 'reject [options] <findingId>',
    summary: "Reject a lifecycle's proposed reconciliation (signed, with a reason).",
    groups: ['lifecycle'],
  },
  {
    name: 'prs',
    term: 'prs',
    summary: 'Reconciliation pull requests in a local Git repository.',
    groups: ['prs'],
  },
  {
    name: 'evidence',
    term: 'evidence',
    summary: "Read and verify a finding's evidence records.",
    groups: ['evidence'],
  },
  {
    name: 'budgets',
    term: 'budgets [options]',
    summary: 'Evaluate the drift budgets of the registry from the findings ledger.',
    groups: ['budgets'],
  },
  {
    name: 'db',
    term: 'db',
    summary: 'The findings ledger: migrate, status, rebuild from evidence.',
    groups: ['db'],
  },
  {
    name: 'keys',
    term: 'keys',
    summary: "The server's Ed25519 signing keys: show, generate, rotate.",
    groups: ['keys'],
  },
  {
    name: 'hotfix',
    term: 'hotfix',
    summary: 'Hotfix-reconciliation windows: start, status, extend, resolve, close, list.',
    groups: ['hotfix'],
  },
  {
    name: 'schedules',
    term: 'schedules',
    summary: 'Temporal Schedules of unit scans and sweeps, kept in step with the registry.',
    groups: ['schedules'],
  },
  { name: 'plan', term: 'plan', summary: 'OpenTofu/Terraform plans.', groups: ['plan'] },
  {
    name: 'schema',
    term: 'schema',
    summary: 'Print a JSON Schema (for editors, the YAML language server and other tools).',
    groups: ['plan', 'classify', 'registry', 'evidence'],
  },
  {
    name: 'classify',
    term: 'classify [options] <input>',
    summary: 'Dry-run the decision table on one change and its context.',
    groups: ['classify'],
  },
  { name: 'policy', term: 'policy', summary: 'Decision-table policy tools.', groups: ['classify'] },
  {
    name: 'registry',
    term: 'registry',
    summary: 'Validate, lint and inspect the registry of drift-managed units.',
    groups: ['registry'],
  },
  { name: 'k8s', term: 'k8s', summary: 'Kubernetes objects.', groups: ['k8s'] },
];

/**
 * The command a command line invokes: the first word that is neither an option nor the value of
 * one of the program's `valueOptions` (`--address host:7233`; `--address=host:7233` is one word),
 * or the word after `help`. Undefined for `--version`, `--help` and an empty line.
 */
export function invokedCommand(
  args: readonly string[],
  valueOptions: readonly string[] = [],
): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const a = args[i] as string;
    if (a === '--') break;
    if (valueOptions.includes(a)) i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  return words[0] === 'help' ? words[1] : words[0];
}
