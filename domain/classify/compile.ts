import { ChangeTypeSchema, RelationshipSchema } from '../finding';
import { compileConditions, type CompiledConditions } from './evaluate';
import type { Facts } from './facts';
import type { ClassifyInput } from './input';
import { tableDigest, type DecisionTable, type RuleConditions, type RuleOutcome } from './table';

/**
 * A decision table compiled once for evaluation: conditions become check functions (cheapest
 * first), `why` templates are split into text and placeholders, and the digest is computed.
 * Compiled forms are cached per table object, so a table must not be mutated once it has been
 * used to classify (tables are data loaded once; overrides produce a new table object).
 */

/** A `why` template: literal text at even indexes, placeholder names (`actor`, `fields`…) at odd ones. */
export type WhyTemplate = readonly string[];

/**
 * A quick pre-check on the enumerated facts nearly every rule tests (detector, exception,
 * incident, actor type, relationship, change type): each value is one bit, an input sets one bit
 * per fact, and a rule rejects the bits of the values it does not list. Most rules of a table
 * are ruled out by one AND; the full conditions still decide for the rest.
 */
interface PrefilterFact {
  values: readonly string[];
  of: (input: ClassifyInput, f: Facts) => string;
  listed: (when: RuleConditions) => readonly string[] | undefined;
}

const PREFILTER: readonly PrefilterFact[] = [
  { values: ['ok', 'failed', 'overdue'], of: (_i, f) => f.detector, listed: (w) => w.detector },
  { values: ['active', 'expired', 'none'], of: (_i, f) => f.exception, listed: (w) => w.exception },
  { values: ['open', 'resolved', 'none'], of: (_i, f) => f.incident, listed: (w) => w.incident },
  {
    values: ['human', 'controller', 'break-glass', 'ci', 'unknown', 'none'],
    of: (_i, f) => f.actor?.type ?? 'none',
    listed: (w) => w.actorType,
  },
  { values: RelationshipSchema.options, of: (_i, f) => f.planes.relationship, listed: (w) => w.relationship },
  { values: ChangeTypeSchema.options, of: (i) => i.change.changeType, listed: (w) => w.changeType },
];

const OFFSETS = PREFILTER.map((_p, k) =>
  PREFILTER.slice(0, k).reduce((n, p) => n + p.values.length, 0),
);

/** The prefilter bits of an input: one per fact (none for a value the prefilter does not know). */
export function factBits(input: ClassifyInput, f: Facts): number {
  let bits = 0;
  for (let k = 0; k < PREFILTER.length; k++) {
    const p = PREFILTER[k] as PrefilterFact;
    const at = p.values.indexOf(p.of(input, f));
    if (at >= 0) bits |= 1 << ((OFFSETS[k] as number) + at);
  }
  return bits;
}

/** The bits of values a rule's top-level conditions exclude. */
function rejectedBits(when: RuleConditions): number {
  let bits = 0;
  PREFILTER.forEach((p, k) => {
    const listed = p.listed(when);
    if (listed === undefined) return;
    p.values.forEach((v, at) => {
      if (!listed.includes(v)) bits |= 1 << ((OFFSETS[k] as number) + at);
    });
  });
  return bits;
}

/** One compiled rule. */
export interface CompiledRule {
  id: string;
  /** Prefilter: the rule cannot fire when an input has any of these {@link factBits}. */
  rejects: number;
  matches: CompiledConditions;
  why: WhyTemplate;
  then: RuleOutcome;
}

/** A compiled decision table. */
export interface CompiledTable {
  rules: readonly CompiledRule[];
  digest: string;
}

const compiledTables = new WeakMap<DecisionTable, CompiledTable>();

/** Compiles a table, or returns the form compiled earlier for the same table object. */
export function compileTable(table: DecisionTable): CompiledTable {
  let c = compiledTables.get(table);
  if (c === undefined) {
    c = {
      rules: table.rules.map((r) => ({
        id: r.id,
        rejects: rejectedBits(r.when),
        matches: compileConditions(r.when),
        why: r.why.includes('{') ? r.why.split(/\{(\w+)\}/) : [r.why],
        then: r.then,
      })),
      digest: tableDigest(table),
    };
    compiledTables.set(table, c);
  }
  return c;
}
