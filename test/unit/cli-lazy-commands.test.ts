// Lazy command loading (issue 13 §3): the top-level program lists every command from
// cli/commands/index.ts without importing it, and a command line loads only its own group. The
// list is checked against what the groups really register, so it cannot drift from them.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command, Help } from 'commander';
import { require as tsxRequire } from 'tsx/cjs/api';
import { afterAll, describe, expect, it } from 'vitest';
import type * as Commands from '../../cli/commands';
import type { CommandGroupName } from '../../cli/commands';
import { repoRoot } from '../support/shared-fixtures';

// The loaders `require` their group, as the CLI does: loaded through tsx's require here, since
// Vitest's module runner does not serve a plain require of a TypeScript file.
const { COMMANDS, commandGroupLoaders, invokedCommand } = tsxRequire(
  '../../cli/commands/index.ts',
  __filename,
) as typeof Commands;
const run = promisify(execFile);
const groups = Object.keys(commandGroupLoaders) as CommandGroupName[];

/** The top-level commands a group registers on an empty program. */
function registeredBy(group: CommandGroupName): Command[] {
  const program = new Command('driftplane');
  commandGroupLoaders[group]()(program);
  return [...program.commands];
}

describe('the command list', () => {
  it.each(groups)('lists every top-level command group %s registers, with its usage', (group) => {
    const help = new Help();
    for (const cmd of registeredBy(group)) {
      const entry = COMMANDS.find((c) => c.name === cmd.name());
      expect(entry, `${cmd.name()} (registered by ${group}) is missing from COMMANDS`).toBeDefined();
      expect(entry!.groups).toContain(group);
      // `schema` is a group other files add to; its own usage has no options or arguments either way.
      expect(entry!.term).toBe(help.subcommandTerm(cmd));
    }
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    '%s is registered by the groups it names',
    (name, entry) => {
      const names = entry.groups.flatMap((g) => registeredBy(g).map((c) => c.name()));
      expect(names).toContain(name);
      expect(entry.summary.length).toBeLessThanOrEqual(90);
      expect(entry.summary).not.toContain('\n');
    },
  );

  it('has a loader for every command group file in cli/commands/', () => {
    const dir = path.join(repoRoot, 'cli', 'commands');
    const withRegister = readdirSync(dir).filter(
      (f) =>
        f.endsWith('.ts') &&
        /export function register\w+Commands\(/.test(readFileSync(path.join(dir, f), 'utf8')),
    );
    expect(withRegister.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual([...groups].sort());
  });

  it.each([
    [['--version'], undefined],
    [['--help'], undefined],
    [[], undefined],
    [['registry', 'validate', 'x'], 'registry'],
    [['-h', 'show'], 'show'],
    [['help', 'approve'], 'approve'],
    [['schema', 'registry'], 'schema'],
    [['--address', 'temporal:7233', 'findings'], 'findings'],
    [['--profile=cloud', '--namespace', 'prod', 'show', 'x'], 'show'],
    [['findings', '--address', 'temporal:7233'], 'findings'],
  ])('finds the invoked command in %j', (args, name) => {
    expect(invokedCommand(args, ['--profile', '--address', '--namespace'])).toBe(name);
  });
});

describe('what a command line loads', () => {
  // A preloaded hook lists the repository's own modules the CLI loaded (sources, through tsx).
  const hook = path.join(os.tmpdir(), `driftplane-loaded-${process.pid}.cjs`);
  writeFileSync(
    hook,
    `const Module = require('node:module'); const seen = new Set(); const load = Module._load;
Module._load = function (request, parent, isMain) { try { seen.add(Module._resolveFilename(request, parent, isMain)); } catch {} return load.apply(this, arguments); };
process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify([...seen]) + '\\n'));\n`,
  );
  afterAll(() => rmSync(hook, { force: true }));
  const loaded = async (...args: string[]) => {
    const r = await run(process.execPath, [
      '--require',
      hook,
      path.join(repoRoot, 'bin', 'driftplane.cjs'),
      ...args,
    ]).catch((e: { stdout: string; stderr: string }) => e);
    const files = JSON.parse(/LOADED (.*)/.exec(r.stderr)![1]!) as string[];
    return {
      stdout: r.stdout,
      own: files
        .filter((f) => f.startsWith(repoRoot) && !f.includes('node_modules'))
        .map((f) => path.relative(repoRoot, f)),
      packages: [...new Set(files.flatMap((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1] ?? []))],
    };
  };

  it('--version loads no command group and no SDK', async () => {
    const r = await loaded('--version');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.own.filter((f) => f.startsWith('cli/commands/') && f !== 'cli/commands/index.ts')).toEqual([]);
    expect(
      r.packages.filter(
        (p) =>
          p !== 'tsx' &&
          p !== 'commander' &&
          !p.startsWith('@esbuild') &&
          p !== 'esbuild' &&
          p !== 'get-tsconfig' &&
          p !== 'resolve-pkg-maps',
      ),
    ).toEqual([]);
  });

  it('--help lists every command without loading one', async () => {
    const r = await loaded('--help');
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.term}`);
    expect(r.own.filter((f) => f.startsWith('cli/commands/') && f !== 'cli/commands/index.ts')).toEqual([]);
  });

  it('`registry validate` loads the registry group only, and no Temporal SDK', async () => {
    const r = await loaded('registry', 'validate', path.join(repoRoot, 'registry', 'examples', 'acme'));
    expect(r.own.filter((f) => f.startsWith('cli/commands/')).sort()).toEqual([
      'cli/commands/index.ts',
      'cli/commands/registry.ts',
      'cli/commands/schema.ts',
    ]);
    expect(r.packages.filter((p) => p.startsWith('@temporalio/') || p.startsWith('@aws-sdk/'))).toEqual([]);
  });
});
