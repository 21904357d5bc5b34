import { visible, visibleJson } from '../domain/terminal-text';

/**
 * How the CLI writes to the terminal. Text for a person goes through `visible` as a last line of
 * defence (each command also escapes the outside values it puts on one line, so a value cannot
 * fake a line of its own); JSON is written exact, with the characters a terminal would obey
 * written as JSON escapes. A reader that goes away early (`| head -1`) ends the command quietly.
 */

const forPerson = (text: string) => visible(text, { keepNewlines: true, keepTabs: true });

/** Writes text for a person to stdout. */
export function writeOut(text: string): void {
  process.stdout.write(forPerson(text));
}

/** Writes text for a person to stderr. */
export function writeErr(text: string): void {
  process.stderr.write(forPerson(text));
}

/** Writes a value as JSON (indented by `indent`; 0 for one line) to stdout, followed by a newline. */
export function writeJson(value: unknown, indent = 2): void {
  process.stdout.write(`${visibleJson(JSON.stringify(value, null, indent || undefined))}\n`);
}

let guarded = false;

/**
 * When stdout or stderr is a pipe whose reader has gone (`driftplane evidence show --json | head -1`),
 * a write fails with EPIPE; unhandled, Node prints a stack trace. The reader chose to stop
 * reading, so the command stops there, quietly, with the exit code it had so far (0 if none yet).
 */
export function guardPipes(): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
