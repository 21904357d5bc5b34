/**
 * Rebuilds the image the Dockerfile describes as folders on this machine, for tests that have no
 * Docker engine: each stage gets a root folder; COPY copies exactly what the line names (from the
 * build context, or from an earlier stage's folder); RUN runs in the stage's folder with `/app`
 * mapped onto it; `npm ci` becomes a `node_modules` made of links to the checkout's packages (all
 * of them, or with `--omit=dev` only those package-lock.json does not mark `dev`); in the final
 * stage, RUN may only `mkdir -p` and `chown` (done under a root-filesystem folder), and ENV values
 * that are absolute paths point into that folder. What cannot be rebuilt (a stage that downloads a
 * binary) is listed as skipped, never silently assumed.
 *
 * Why links for packages: Node resolves a linked package to its real path, so a package finds its
 * own dependencies in the checkout, but driftplane's code (copied into the folder) resolves only
 * what the emulated node_modules holds: a production dependency missing from package.json fails.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** One instruction, continuation lines joined. */
export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** A stage: `FROM image [AS name]` and its instructions. */
export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

/** Parses a Dockerfile into stages (comments and blank lines dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile:${start}: not an instruction: ${line}`);
    const [, op, args] = m as unknown as [string, string, string];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args.trim());
      if (!f) throw new Error(`Dockerfile:${start}: FROM ${args}`);
      stages.push({ image: f[1]!, name: f[2] ?? String(stages.length), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile:${start}: ${op} before FROM`);
      stage.instructions.push({ op, args: args.trim(), line: start });
    }
  }
  return stages;
}

/** Words of a shell-free instruction (COPY, mkdir): split on spaces; flags kept. */
const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** The final stage's run settings, with paths mapped into the emulated root filesystem. */
export interface EmulatedImage {
  /** The root filesystem folder; `/app` is `rootfs/app`. */
  rootfs: string;
  /** WORKDIR of the final stage, mapped. */
  workdir: string;
  /** ENV of the final stage, absolute paths mapped into rootfs. */
  env: Record<string, string>;
  /** CMD of the final stage (exec form). */
  cmd: string[];
  /** USER of the final stage. */
  user?: string;
  /** What was not rebuilt, and why. */
  skipped: string[];
}

interface StageResult {
  root: string;
  workdir: string;
}

/**
 * Emulates the Dockerfile's stages under `into` and returns the final stage as a root filesystem.
 * `context` is the build context (the repository); `checkout` holds node_modules and
 * package-lock.json; `stageCache` reuses a built stage whose instructions did not change.
 */
export function emulateImage(
  dockerfile: string,
  opts: {
    context: string;
    into: string;
    stageCache?: Map<string, StageResult>;
    runAsNode?: { uid: number; gid: number };
  },
): EmulatedImage {
  const stages = parseDockerfile(dockerfile);
  const built = new Map<string, StageResult>();
  const skipped: string[] = [];
  const final = stages.at(-1)!;
  stages.slice(0, -1).forEach((stage, index) => {
    const key = JSON.stringify(
      stages.slice(0, index + 1).map((s) => [s.image, s.instructions.map((i) => [i.op, i.args])]),
    );
    const cached = opts.stageCache?.get(key);
    if (cached) return built.set(stage.name, cached);
    if (!stage.image.startsWith('node:')) {
      skipped.push(`stage ${stage.name} (${stage.image}): not a Node stage, not rebuilt`);
      return;
    }
    const root = path.join(opts.into, `stage-${stage.name}`);
    mkdirSync(root, { recursive: true });
    const result = { root, workdir: root };
    for (const ins of stage.instructions) {
      if (ins.op === 'WORKDIR') {
        if (ins.args !== '/app')
          throw new Error(`Dockerfile:${ins.line}: build stages are emulated with WORKDIR /app`);
      } else if (ins.op === 'COPY') copy(ins, root, root, built, skipped, opts.context);
      else if (ins.op === 'RUN') run(ins, root, opts.context);
      else if (!['ARG', 'ENV'].includes(ins.op))
        throw new Error(`Dockerfile:${ins.line}: ${ins.op} is not emulated in a build stage`);
    }
    built.set(stage.name, result);
    opts.stageCache?.set(key, result);
  });

  const rootfs = path.join(opts.into, 'rootfs');
  // What the base image has: /var/lib owned by root, /tmp for everyone, the `node` user's home.
  for (const d of ['var/lib', 'usr/local/bin', 'home/node'])
    mkdirSync(path.join(rootfs, d), { recursive: true, mode: 0o755 });
  mkdirSync(path.join(rootfs, 'tmp'), { recursive: true });
  chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  if (opts.runAsNode) chownSync(path.join(rootfs, 'home/node'), opts.runAsNode.uid, opts.runAsNode.gid);
  const image: EmulatedImage = { rootfs, workdir: rootfs, env: {}, cmd: [], skipped };
  const inRoot = (p: string) => path.join(rootfs, p);
  for (const ins of final.instructions) {
    if (ins.op === 'WORKDIR') {
      image.workdir = inRoot(ins.args);
      mkdirSync(image.workdir, { recursive: true });
    } else if (ins.op === 'ENV') {
      for (const pair of words(ins.args)) {
        const [k, v] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
        image.env[k] = v.startsWith('/') ? inRoot(v) : v;
      }
    } else if (ins.op === 'COPY') copy(ins, rootfs, image.workdir, built, skipped, opts.context);
    else if (ins.op === 'RUN') {
      for (const cmd of ins.args.split('&&').map((c) => words(c))) {
        if (cmd[0] === 'mkdir' && cmd[1] === '-p')
          for (const d of cmd.slice(2)) mkdirSync(inRoot(d), { recursive: true, mode: 0o755 });
        else if (cmd[0] === 'chown' && cmd[1] === '-R' && cmd[2] === 'node:node') {
          if (opts.runAsNode)
            for (const d of cmd.slice(3))
              execFileSync('chown', ['-R', `${opts.runAsNode.uid}:${opts.runAsNode.gid}`, inRoot(d)]);
        } else
          throw new Error(
            `Dockerfile:${ins.line}: the runtime stage may only RUN mkdir -p and chown -R node:node (got: ${cmd.join(' ')})`,
          );
      }
    } else if (ins.op === 'USER') image.user = ins.args;
    else if (ins.op === 'CMD') image.cmd = JSON.parse(ins.args) as string[];
    else if (!['ARG', 'EXPOSE', 'LABEL', 'HEALTHCHECK'].includes(ins.op))
      throw new Error(`Dockerfile:${ins.line}: ${ins.op} is not emulated in the runtime stage`);
  }
  return image;
}

/** COPY [--from=stage] [--chown=…] src… dest: from the context, or from an emulated stage's root. */
function copy(
  ins: Instruction,
  root: string,
  workdir: string,
  built: Map<string, StageResult>,
  skipped: string[],
  context: string,
): void {
  const parts = words(ins.args);
  const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
  const paths = parts.filter((p) => !p.startsWith('--'));
  const dest = paths.pop()!;
  const to = dest.startsWith('/') ? path.join(root, dest) : path.join(workdir, dest);
  for (const src of paths) {
    let source: string;
    if (from === undefined) source = path.join(context, src);
    else {
      const stage = built.get(from);
      if (!stage) {
        skipped.push(`Dockerfile:${ins.line}: COPY --from=${from} ${src} (stage ${from} not rebuilt)`);
        continue;
      }
      if (!src.startsWith('/app/') && src !== '/app')
        throw new Error(
          `Dockerfile:${ins.line}: COPY --from=${from} ${src}: only paths under /app are emulated`,
        );
      source = path.join(stage.root, src.slice('/app'.length));
    }
    if (from === undefined && dockerignored(context, src))
      throw new Error(
        `Dockerfile:${ins.line}: COPY ${src}: excluded from the build context by .dockerignore`,
      );
    if (!existsSync(source))
      throw new Error(
        `Dockerfile:${ins.line}: COPY ${from ? `--from=${from} ` : ''}${src}: not found (${source})`,
      );
    // `COPY a b ./` and `COPY dir ./dir/`: into the folder; `COPY file ./name`: as that name.
    const target = dest.endsWith('/') || paths.length > 1 ? path.join(to, path.basename(src)) : to;
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(source, target, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (f) => from !== undefined || !dockerignored(context, path.relative(context, f)),
    });
  }
}

/** Whether .dockerignore keeps a context path out (its entries are plain names here: `node_modules`, `dist`, ...). */
function dockerignored(context: string, rel: string): boolean {
  const file = path.join(context, '.dockerignore');
  if (!existsSync(file)) return false;
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim().replace(/\/$/, ''))
    .filter((l) => l && !l.startsWith('#'));
  const normal = path.normalize(rel).replace(/^\.\/?/, '');
  return entries.some((e) => normal === e || normal.startsWith(`${e}/`));
}

/** RUN in a build stage: `npm ci` links packages; anything else runs in the stage's folder with /app mapped. */
function run(ins: Instruction, root: string, context: string): void {
  const cmd = ins.args;
  if (/^npm ci\b/.test(cmd)) {
    linkPackages(
      path.join(context, 'package-lock.json'),
      path.join(context, 'node_modules'),
      path.join(root, 'node_modules'),
      /--omit=dev/.test(cmd),
    );
    return;
  }
  const mapped = cmd.replace(/(^|\s)\/app(?=\/|\s|$)/g, `$1${root}`);
  try {
    execFileSync('sh', ['-c', mapped], { cwd: root, stdio: 'pipe', encoding: 'utf8' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`Dockerfile:${ins.line}: RUN ${cmd} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/**
 * A node_modules of links to the checkout's installed packages: every top-level package the lock
 * lists (without `dev: true` when production only) that is installed here (optional platform
 * packages of other systems are not).
 */
export function linkPackages(lockFile: string, from: string, to: string, productionOnly: boolean): void {
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  mkdirSync(to, { recursive: true });
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || key.indexOf('node_modules/', 1) !== -1) continue;
    if (productionOnly && entry.dev) continue;
    const name = key.slice('node_modules/'.length);
    const source = path.join(from, name);
    if (!existsSync(source)) continue;
    mkdirSync(path.dirname(path.join(to, name)), { recursive: true });
    symlinkSync(source, path.join(to, name), 'dir');
  }
}
