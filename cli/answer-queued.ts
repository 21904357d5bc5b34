/** What `driftplane approve|reject` says when Temporal holds the answer but no worker has validated it yet. */
export const QUEUED_MESSAGE =
  'queued, not yet validated: a worker will validate it when it runs; `driftplane show` tells';

/**
 * An answer Temporal admitted (it stays with the workflow) that no worker validated within the wait:
 * neither accepted nor refused yet. Exit code `queued` (4), never `failed`.
 */
export class AnswerQueued extends Error {
  override readonly name = 'AnswerQueued';
  constructor(
    readonly findingId: string,
    readonly updateId: string,
    readonly waitedMs: number,
  ) {
    super(QUEUED_MESSAGE);
  }
}
