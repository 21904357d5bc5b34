import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes of a drift lifecycle, so Temporal's list views and the dashboard can filter on them. */
export const DriftClassKey = defineSearchAttributeKey('DriftClass', SearchAttributeType.KEYWORD);
export const RiskKey = defineSearchAttributeKey('Risk', SearchAttributeType.KEYWORD);
export const OwnerKey = defineSearchAttributeKey('Owner', SearchAttributeType.KEYWORD);
export const EnvironmentKey = defineSearchAttributeKey('Environment', SearchAttributeType.KEYWORD);
export const LifecycleStateKey = defineSearchAttributeKey('LifecycleState', SearchAttributeType.KEYWORD);
export const UnitKey = defineSearchAttributeKey('Unit', SearchAttributeType.KEYWORD);
/** Search attributes of a hotfix window (with Unit): its incident, and open / escalated / closed. */
export const HotfixIncidentKey = defineSearchAttributeKey('HotfixIncident', SearchAttributeType.KEYWORD);
export const WindowStateKey = defineSearchAttributeKey('WindowState', SearchAttributeType.KEYWORD);

/** Every custom search attribute driftplane registers (all Keyword). */
export const SEARCH_ATTRIBUTE_KEYS = [DriftClassKey, RiskKey, OwnerKey, EnvironmentKey, LifecycleStateKey, UnitKey, HotfixIncidentKey, WindowStateKey];
