import { visit, type Document } from 'yaml';

/**
 * Turns a parsed YAML document into plain data, or says why it cannot, and where. Aliases are the
 * dangerous part of YAML for a loader: an alias bomb ("billion laughs") expands a few lines into
 * billions of nodes, an alias inside its own anchor makes a cyclic value that later breaks
 * JSON and hashing, and an alias without its anchor is a reference to nothing. The `yaml` library
 * throws for the first and the last at `toJS` time (with no position) and returns the second; here
 * all three become a problem with the offset of the alias responsible.
 */

/** At most this many alias expansions per document (the `yaml` library's `maxAliasCount`). */
export const MAX_YAML_ALIAS_COUNT = 100;

/** Why a document is not data. */
export type YamlValueProblemCode = 'ALIAS_LIMIT' | 'ALIAS_CYCLE' | 'UNRESOLVED_ALIAS' | 'RESOURCE_EXHAUSTION';

/** A document's value, or the problem and the source offset it sits at (when known). */
export type YamlValue =
  { ok: true; value: unknown } | { ok: false; code: YamlValueProblemCode; message: string; offset?: number };

/** The plain value of a parsed document that has no syntax errors. */
export function yamlValue(doc: Document.Parsed): YamlValue {
  let firstAlias: number | undefined;
  let problem: Extract<YamlValue, { ok: false }> | undefined;
  try {
    visit(doc, {
      Alias(_key, node, path) {
        const offset = node.range?.[0];
        firstAlias ??= offset;
        const target = node.resolve(doc);
        if (!target) {
          problem = {
            ok: false,
            code: 'UNRESOLVED_ALIAS',
            message: `alias *${node.source} has no anchor &${node.source} before it`,
            offset,
          };
          return visit.BREAK;
        }
        if (path.includes(target)) {
          problem = {
            ok: false,
            code: 'ALIAS_CYCLE',
            message: `alias *${node.source} sits inside its own anchor &${node.source} (a cycle)`,
            offset,
          };
          return visit.BREAK;
        }
        return undefined;
      },
    });
    if (problem) return problem;
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT }) as unknown };
  } catch (err) {
    // `yaml` throws a ReferenceError when aliases expand past maxAliasCount; a RangeError when the
    // document nests deeper than the stack.
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      return {
        ok: false,
        code: 'ALIAS_LIMIT',
        message: `aliases expand more than ${MAX_YAML_ALIAS_COUNT} times (an alias bomb, "billion laughs"?); write the values out instead`,
        offset: firstAlias,
      };
    }
    if (err instanceof RangeError)
      return { ok: false, code: 'RESOURCE_EXHAUSTION', message: `too deeply nested to read: ${err.message}` };
    throw err;
  }
}
