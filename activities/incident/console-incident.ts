import type { IncidentAdapter, IncidentInput, IncidentRef } from './incident-adapter';

/**
 * The embedded default: writes the incident as a block of lines to a log (stderr by default) and
 * keeps it in memory, so the demo shows it and tests can read it. Idempotent: a finding opened
 * again is found again (and printed once). Its id is `console:<findingId>`.
 */
export function consoleIncident(
  log: { write(s: string): unknown } | undefined = process.stderr,
): IncidentAdapter & { readonly opened: Map<string, IncidentInput> } {
  const opened = new Map<string, IncidentInput>();
  return {
    name: 'console',
    opened,
    async open(input: IncidentInput): Promise<IncidentRef> {
      const incidentId = `console:${input.findingId}`;
      if (opened.has(input.findingId)) return { adapter: 'console', incidentId, created: false };
      opened.set(input.findingId, input);
      // One line per field, values as JSON strings where they could hold a newline.
      const lines = [
        `=== INCIDENT ${input.severity.toUpperCase()} ${incidentId} ===`,
        `title:    ${JSON.stringify(input.title)}`,
        `summary:  ${JSON.stringify(input.summary)}`,
        `source:   ${JSON.stringify(input.source)}`,
        ...(input.component !== undefined ? [`component: ${JSON.stringify(input.component)}`] : []),
        ...(input.group !== undefined ? [`group:    ${JSON.stringify(input.group)}`] : []),
        ...(input.customDetails ? [`details:  ${JSON.stringify(input.customDetails)}`] : []),
        ...(input.links ?? []).map((l) => `link:     ${JSON.stringify(l.text)} ${l.href}`),
        `=== end of incident ${incidentId} ===`,
      ];
      log?.write(`${lines.join('\n')}\n`);
      return { adapter: 'console', incidentId, created: true };
    },
  };
}
