import { spawn } from 'node:child_process';

/** How to run one command of a plan (init, plan, show). */
export interface GroupCommand {
  command: string;
  args: string[];
  cwd: string;
  /** The complete environment of the process: nothing is inherited from the worker. */
  env: Record<string, string>;
  /** Aborting kills the whole process group (SIGINT, then SIGKILL after `killGraceMs`). */
  signal: AbortSignal;
  /** Kill the group and report `timedOut` after this long. */
  timeoutMs: number;
  /** Time the group gets between SIGINT and SIGKILL (OpenTofu releases its state lock when interrupted). */
  killGraceMs: number;
  /** Keep stdout in memory (for `show -json`); otherwise only its tail is kept. */
  captureStdout: boolean;
  /** Fail with `stdoutOverflow` past this many bytes of captured stdout. */
  maxStdoutBytes: number;
  /** Bytes of the end of stderr (and of uncaptured stdout) kept for error excerpts. */
  tailBytes: number;
  /** Called with the process group id once the process runs. */
  onSpawn?: (pgid: number) => void;
}

/** What happened to a {@link GroupCommand}. */
export interface GroupOutcome {
  /** Exit code, or null when killed by a signal or never started. */
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  stdout: Buffer;
  stdoutTail: string;
  stderrTail: string;
  timedOut: boolean;
  cancelled: boolean;
  stdoutOverflow: boolean;
  /** The process could not be started (ENOENT, EACCES, ...). */
  spawnError?: string;
  durationMs: number;
}

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** Sends a signal to every process of a group; a group that is already gone is not an error. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * Runs a command as the leader of its own process group (`detached`), so that cancellation and
 * timeouts kill it together with everything it started (providers, credential helpers). After the
 * leader exits, whatever is left of its group is killed too, so no orphan outlives the run.
 */
export function runInProcessGroup(cmd: GroupCommand): Promise<GroupOutcome> {
  const started = Date.now();
  return new Promise<GroupOutcome>((resolve) => {
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    const stdoutTail = new Tail(cmd.tailBytes);
    const stderrTail = new Tail(cmd.tailBytes);
    let timedOut = false;
    let cancelled = false;
    let stdoutOverflow = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const timers: { timeout?: NodeJS.Timeout } = {};
    let settled = false;

    const finish = (spawnError?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timers.timeout);
      clearTimeout(killTimer);
      cmd.signal.removeEventListener('abort', onAbort);
      resolve({
        exitCode,
        exitSignal,
        stdout: cmd.captureStdout && !stdoutOverflow ? Buffer.concat(stdoutChunks) : Buffer.alloc(0),
        stdoutTail: stdoutTail.toString(),
        stderrTail: stderrTail.toString(),
        timedOut,
        cancelled,
        stdoutOverflow,
        ...(spawnError !== undefined ? { spawnError } : {}),
        durationMs: Date.now() - started,
      });
    };

    if (cmd.signal.aborted) {
      cancelled = true;
      finish();
      return;
    }

    const child = spawn(cmd.command, cmd.args, {
      cwd: cmd.cwd,
      env: cmd.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pgid = child.pid;

    const stop = (): void => {
      if (pgid === undefined) return;
      // SIGINT is what Ctrl-C sends to a foreground group: OpenTofu stops gracefully and releases its lock,
      // and its go-plugin providers ignore it until OpenTofu shuts them down.
      killGroup(pgid, 'SIGINT');
      clearTimeout(killTimer);
      killTimer = setTimeout(() => killGroup(pgid, 'SIGKILL'), cmd.killGraceMs);
    };
    function onAbort(): void {
      cancelled = true;
      stop();
    }
    timers.timeout = setTimeout(() => {
      timedOut = true;
      stop();
    }, cmd.timeoutMs);
    cmd.signal.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (b: Buffer) => {
      stdoutTail.push(b);
      if (!cmd.captureStdout || stdoutOverflow) return;
      stdoutBytes += b.length;
      if (stdoutBytes > cmd.maxStdoutBytes) {
        stdoutOverflow = true;
        stdoutChunks.length = 0;
        stop();
        return;
      }
      stdoutChunks.push(b);
    });
    child.stderr.on('data', (b: Buffer) => stderrTail.push(b));

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) emit 'error' without 'exit'.
      if (child.pid === undefined) finish(`${err.code ?? 'error'}: cannot run ${cmd.command}`);
    });
    child.on('spawn', () => {
      if (pgid !== undefined) cmd.onSpawn?.(pgid);
    });
    child.on('exit', (code, sig) => {
      exitCode = code;
      exitSignal = sig;
      // The leader is gone: anything left in its group (a provider, a grandchild holding our pipes) is an orphan.
      if (pgid !== undefined) killGroup(pgid, 'SIGKILL');
    });
    child.on('close', () => finish());
  });
}
