import type {
  AutoHealPolicy,
  ChangeFreeze,
  CompliancePolicy,
  DriftBudget,
  DriftException,
  DriftManagedUnit,
  DriftOwnershipRule,
  RedactionPolicy,
  RegistryDocument,
  RegistryKind,
  RoutingPolicy,
  Team,
} from './schemas';

/** A problem found in a registry. `line`/`column` are 1-based; `field` is a JSON pointer into the document. */
export interface RegistryIssue {
  severity: 'error' | 'warning';
  /** Stable id of the rule that fired, e.g. `unknown-owner`, `shared-credential-role`. */
  rule: string;
  file: string;
  line?: number;
  column?: number;
  kind?: string;
  name?: string;
  field?: string;
  message: string;
}

/** Where a document came from: its file and its index among the file's documents. */
export interface SourceRef {
  file: string;
  index: number;
  line?: number;
}

/** A schema-valid document with its source. */
export interface ParsedDocument {
  doc: RegistryDocument;
  source: SourceRef;
}

/** A registry issue before it has a line and column: the loader resolves `field` in `source`. */
export interface PendingIssue {
  severity: 'error' | 'warning';
  rule: string;
  source: SourceRef;
  kind: string;
  name: string;
  field: string;
  message: string;
  /** Point at the key of the field rather than its value (e.g. an unknown key). */
  atKey?: boolean;
}

/** A loaded, valid registry. Maps are keyed by `metadata.name` and ordered by file path, then position. */
export interface Registry {
  units: Map<string, DriftManagedUnit>;
  teams: Map<string, Team>;
  ownershipRules: Map<string, DriftOwnershipRule>;
  autoHealPolicies: Map<string, AutoHealPolicy>;
  routingPolicies: Map<string, RoutingPolicy>;
  budgets: Map<string, DriftBudget>;
  exceptions: Map<string, DriftException>;
  /** Extra redaction patterns (they add to the built-in rules; docs/redaction.md). */
  redactionPolicies: Map<string, RedactionPolicy>;
  /** Change-freeze calendars (issue 11). */
  changeFreezes: Map<string, ChangeFreeze>;
  /** Versioned compliance policies (issue 11: POLICY_DRIFT). */
  compliancePolicies: Map<string, CompliancePolicy>;
  /** Source of every document, keyed `Kind/name`. */
  sources: Map<string, SourceRef>;
  /** A stable content hash of the loaded files (`sha256:<hex>`): record it with every decision made from this registry. */
  version: string;
}

/** The key of a document in `Registry.sources`. */
export function documentKey(kind: RegistryKind | string, name: string): string {
  return `${kind}/${name}`;
}

/** Builds the registry maps from documents already known to be valid and unique per kind. */
export function buildRegistry(docs: readonly ParsedDocument[], version: string): Registry {
  const registry: Registry = {
    units: new Map(),
    teams: new Map(),
    ownershipRules: new Map(),
    autoHealPolicies: new Map(),
    routingPolicies: new Map(),
    budgets: new Map(),
    exceptions: new Map(),
    redactionPolicies: new Map(),
    changeFreezes: new Map(),
    compliancePolicies: new Map(),
    sources: new Map(),
    version,
  };
  for (const { doc, source } of docs) {
    const name = doc.metadata.name;
    registry.sources.set(documentKey(doc.kind, name), source);
    switch (doc.kind) {
      case 'DriftManagedUnit':
        registry.units.set(name, doc);
        break;
      case 'Team':
        registry.teams.set(name, doc);
        break;
      case 'DriftOwnershipRule':
        registry.ownershipRules.set(name, doc);
        break;
      case 'AutoHealPolicy':
        registry.autoHealPolicies.set(name, doc);
        break;
      case 'RoutingPolicy':
        registry.routingPolicies.set(name, doc);
        break;
      case 'DriftBudget':
        registry.budgets.set(name, doc);
        break;
      case 'DriftException':
        registry.exceptions.set(name, doc);
        break;
      case 'RedactionPolicy':
        registry.redactionPolicies.set(name, doc);
        break;
      case 'ChangeFreeze':
        registry.changeFreezes.set(name, doc);
        break;
      case 'CompliancePolicy':
        registry.compliancePolicies.set(name, doc);
        break;
    }
  }
  return registry;
}
