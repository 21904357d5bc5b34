/** Every workflow driftplane registers. Workflow names are nouns and never change once released. */
export { driftLifecycle } from './drift-lifecycle';
export { unitScan } from './unit-scan';
export { stalenessSweep } from './staleness-sweep';
export { hotfixWindow } from './hotfix-window';
export { slackThread } from './slack-thread';
export { budgetSweep } from './budget-sweep';
