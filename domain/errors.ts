/**
 * Named errors that carry their context. The CLI maps them onto the exit codes of PRODUCT.md:
 * InputError → 1 (the input is invalid), ToolError → 3 (the tool could not do its job).
 */

/** Where in an input a problem sits. `line`/`column` are 1-based when known. */
export interface InputLocation {
  file?: string;
  line?: number;
  column?: number;
  /** JSON-pointer-like path of the field, e.g. `/spec/owner`. */
  field?: string;
}

/** Formats a location as `file:line:column field`, leaving out what is unknown. */
export function formatLocation(loc: InputLocation): string {
  const where = [loc.file, loc.line, loc.column].filter((p) => p !== undefined && p !== '').join(':');
  return [where, loc.field ? `field ${loc.field}` : ''].filter(Boolean).join(' ');
}

/** The input is invalid. Exit code 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    message: string,
    readonly location: InputLocation = {},
    readonly problems: { location: InputLocation; message: string }[] = [],
  ) {
    const where = formatLocation(location);
    super(where ? `${where}: ${message}` : message);
  }
}

/** The tool could not do its job (server unreachable, detector failed). Exit code 3. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
