// Benchmark of `plan normalize` on a generated ~100 MB plan (12,000 resources).
//
// Prints MB/s and peak memory, and two ratios measured in the same run on the same bytes:
//   - normalize (read + JSON.parse + duplicate-key scan + normalizePlan, what `plan normalize` does)
//     vs JSON.parse alone (read + JSON.parse); target ≤ 1.5×;
//   - jq (/usr/bin/jq) running the equivalent filter vs normalize; target: normalize faster.
// Timing alternates JSON.parse and normalize runs in one child process; peak memory (max RSS) comes
// from one child per side, so that each peak is its own.
//
// Run: npx tsx bench/plan.bench.ts [--resources N] [--keep]   (or via `npm run bench plan`)
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizePlan } from '../domain/plan/normalize-plan';
import { assertNoDuplicateKeys } from '../domain/plan/parse-plan-json';

const JQ = '/usr/bin/jq';
const REPEATS = 5;

// ---------------------------------------------------------------- plan generator

function sgValues(i: number, variant: number): Record<string, unknown> {
  const rule = (n: number, cidrs: string[]) => ({
    cidr_blocks: cidrs,
    description: `rule ${n} for service ${i % 97}`,
    from_port: 1000 + n,
    ipv6_cidr_blocks: [],
    prefix_list_ids: [],
    protocol: 'tcp',
    security_groups: [`sg-${(i * 7 + n).toString(16).padStart(17, '0')}`],
    self: false,
    to_port: 1000 + n,
  });
  const tags = {
    Name: `svc-${i}`,
    team: `team-${i % 41}`,
    env: i % 3 === 0 ? 'prod' : 'staging',
    cost_center: `cc-${i % 13}`,
    service: `service-${i % 97}`,
    managed_by: variant === 0 ? 'opentofu' : 'console',
  };
  return {
    arn: `arn:aws:ec2:eu-west-1:123456789012:security-group/sg-${i.toString(16).padStart(17, '0')}`,
    description: `Security group of service ${i} (generated for the driftplane plan benchmark)`,
    egress: [rule(0, ['0.0.0.0/0']), rule(1, ['10.0.0.0/8'])],
    id: `sg-${i.toString(16).padStart(17, '0')}`,
    ingress: [
      rule(2, ['10.1.0.0/16', '10.2.0.0/16', variant === 0 ? '10.3.0.0/16' : '0.0.0.0/0']),
      rule(3, ['192.168.0.0/24']),
      rule(4, ['172.16.0.0/12', '172.20.0.0/16']),
      rule(5, ['10.9.0.0/16']),
    ],
    name: `svc-${i}-sg`,
    name_prefix: '',
    owner_id: '123456789012',
    revoke_rules_on_delete: false,
    tags,
    tags_all: tags,
    timeouts: null,
    vpc_id: `vpc-${(i % 20).toString(16).padStart(17, '0')}`,
  };
}

function roleValues(i: number, variant: number): Record<string, unknown> {
  return {
    arn: `arn:aws:iam::123456789012:role/svc-${i}`,
    assume_role_policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: variant === 0 ? 'ec2.amazonaws.com' : '*' },
          Action: 'sts:AssumeRole',
        },
      ],
    }),
    description: `role ${i}`,
    force_detach_policies: false,
    id: `svc-${i}`,
    inline_policy: [{ name: 'inline', policy: '{"Version":"2012-10-17","Statement":[]}' }],
    managed_policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
    max_session_duration: 3600,
    name: `svc-${i}`,
    path: '/',
    permissions_boundary: '',
    tags: { team: `team-${i % 41}` },
    tags_all: { team: `team-${i % 41}` },
    unique_id: `AROA${i.toString(36).toUpperCase().padStart(17, 'X')}`,
  };
}

/** Writes a `tofu show -json`-shaped plan with `n` resources and returns the byte size. */
function generatePlan(file: string, n: number): number {
  const fd = openSync(file, 'w');
  let buf = '';
  const out = (s: string): void => {
    buf += s;
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  };
  const kind = (
    i: number,
  ): { type: string; address: string; values: (v: number) => Record<string, unknown> } => {
    const iam = i % 25 === 0;
    const type = iam ? 'aws_iam_role' : 'aws_security_group';
    return {
      type,
      address: `module.svc_${i % 50}.${type}.r${i}`,
      values: (v) => (iam ? roleValues(i, v) : sgValues(i, v)),
    };
  };
  const actionsOf = (i: number): string[] => {
    if (i % 100 === 2) return ['delete'];
    if (i % 100 === 3) return ['create'];
    if (i % 200 === 4) return ['create', 'delete'];
    if (i % 50 === 1) return ['delete', 'create'];
    if (i % 10 === 0) return ['update'];
    return ['no-op'];
  };
  const sensitive = { tags: {}, tags_all: {}, ingress: [], egress: [] };

  out('{"format_version":"1.2","terraform_version":"1.8.3","variables":{"region":{"value":"eu-west-1"}},');
  out('"planned_values":{"root_module":{"resources":[');
  for (let i = 0; i < n; i++) {
    const k = kind(i);
    if (actionsOf(i)[0] === 'delete') continue;
    out(
      `${i ? ',' : ''}${JSON.stringify({ address: k.address, mode: 'managed', type: k.type, name: `r${i}`, provider_name: 'registry.opentofu.org/hashicorp/aws', schema_version: 1, values: k.values(0), sensitive_values: sensitive })}`,
    );
  }
  out(']}},"resource_drift":[');
  let first = true;
  for (let i = 0; i < n; i++) {
    if (i % 7 !== 0) continue;
    const k = kind(i);
    const change = {
      actions: ['update'],
      before: k.values(0),
      after: k.values(1),
      after_unknown: {},
      before_sensitive: sensitive,
      after_sensitive: sensitive,
    };
    out(
      `${first ? '' : ','}${JSON.stringify({ address: k.address, mode: 'managed', type: k.type, name: `r${i}`, provider_name: 'registry.opentofu.org/hashicorp/aws', change })}`,
    );
    first = false;
  }
  out('],"resource_changes":[');
  for (let i = 0; i < n; i++) {
    const k = kind(i);
    const actions = actionsOf(i);
    const a = actions.join();
    const before = a === 'create' ? null : k.values(i % 7 === 0 ? 1 : 0);
    const after = a === 'delete' ? null : k.values(0);
    const change = {
      actions,
      before,
      after,
      after_unknown:
        a === 'create' || a.includes('delete,create') || a === 'create,delete' ? { id: true, arn: true } : {},
      before_sensitive: before === null ? false : sensitive,
      after_sensitive: after === null ? false : sensitive,
      ...(a.includes(',') ? { replace_paths: [['name']] } : {}),
    };
    const extra = a.includes(',') ? { action_reason: 'replace_because_cannot_update' } : {};
    out(
      `${i ? ',' : ''}${JSON.stringify({ address: k.address, mode: 'managed', type: k.type, name: `r${i}`, provider_name: 'registry.opentofu.org/hashicorp/aws', change, ...extra })}`,
    );
  }
  out(
    '],"prior_state":{"format_version":"1.0","terraform_version":"1.8.3","values":{"root_module":{"resources":[',
  );
  for (let i = 0; i < n; i++) {
    const k = kind(i);
    if (actionsOf(i)[0] === 'create') continue;
    out(
      `${i ? ',' : ''}${JSON.stringify({ address: k.address, mode: 'managed', type: k.type, name: `r${i}`, provider_name: 'registry.opentofu.org/hashicorp/aws', schema_version: 1, values: k.values(0), sensitive_values: sensitive })}`,
    );
  }
  out(']}}},"configuration":{"root_module":{}},"errored":false}');
  writeSync(fd, buf);
  closeSync(fd);
  return statSync(file).size;
}

// ---------------------------------------------------------------- the jq equivalent

const JQ_FILTER = `
def ptr: "/" + (map(tostring) | join("/"));
def leaves: [paths(scalars)];
def changed($c):
  ( ($c.before // {}) as $b | ($c.after // {}) as $a
    | (($b | leaves) + ($a | leaves) | unique | map(select(. as $p | ($b | getpath($p)) != ($a | getpath($p))) | ptr)) )
  + (if ($c.after_unknown | type) == "object" then [$c.after_unknown | paths(. == true) | ptr] else [] end)
  | unique;
def identity: test("^(aws_iam_|aws_ssoadmin_|google_.*_iam_|google_service_account|azurerm_role_|azuread_)");
([.resource_drift[]? | {address, type, actions: .change.actions, relationship: "recorded!=actual",
    changedPaths: changed(.change), identity: (.type | identity)}]) as $drift
| ([.resource_changes[]?
    | select((.change.actions != ["no-op"] and .change.actions != ["read"]) or .change.importing != null or .previous_address != null)
    | {address, type, actions: .change.actions, actionReason: .action_reason, relationship: "desired!=actual",
       changedPaths: changed(.change), destructive: (.change.actions | any(.[]; . == "delete")), identity: (.type | identity)}]) as $changes
| {formatVersion: .format_version, toolVersion: (.terraform_version // "unknown"),
   result: (if .errored then "DETECTION_FAILED" elif ($drift | length) + ($changes | length) > 0 then "DRIFT_DETECTED" else "NO_CHANGES" end),
   resourceDrift: $drift, resourceChanges: $changes,
   summary: {resourceChanges: ($changes | length), destructiveChanges: ([$changes[] | select(.destructive)] | length),
             identityChanges: ([$changes[] | select(.identity)] | length), driftedResources: ($drift | length)}}
`;

// ---------------------------------------------------------------- measurements

interface ChildReport {
  parseMs: number[];
  normalizeMs: number[];
  scanMs: number[];
  walkMs: number[];
  maxRssMB: number;
  summary?: unknown;
}

type ChildMode = 'timing' | 'parse' | 'normalize';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
// On a shared machine the fastest run is the one least disturbed by other processes.
const best = (xs: number[]): number => Math.min(...xs);
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/**
 * `timing`: alternates JSON.parse and normalize runs in one process, so that load on a shared
 * machine hits both sides of the ratio alike. `parse` / `normalize`: one run, for its peak RSS.
 */
function child(mode: ChildMode, file: string): void {
  const report: ChildReport = { parseMs: [], normalizeMs: [], scanMs: [], walkMs: [], maxRssMB: 0 };
  const once = (normalize: boolean): void => {
    gc();
    const t0 = performance.now();
    const text = readFileSync(file, 'utf8');
    const value = JSON.parse(text) as unknown;
    const t1 = performance.now();
    if (!normalize) {
      report.parseMs.push(t1 - t0);
      return;
    }
    assertNoDuplicateKeys(text, value); // parsePlanJson minus the JSON.parse above
    const t2 = performance.now();
    report.summary = normalizePlan(value).summary;
    const t3 = performance.now();
    report.scanMs.push(t2 - t1);
    report.walkMs.push(t3 - t2);
    report.normalizeMs.push(t3 - t0);
  };
  if (mode === 'timing') {
    once(true); // warm-up: JIT and page cache
    report.normalizeMs.length = 0;
    report.scanMs.length = 0;
    report.walkMs.length = 0;
    for (let r = 0; r < REPEATS; r++) {
      once(r % 2 === 0);
      once(r % 2 !== 0);
    }
  } else {
    once(mode === 'normalize');
  }
  report.maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify(report));
}

function runChild(mode: ChildMode, file: string): ChildReport {
  const out = execFileSync(process.execPath, [...process.execArgv, __filename, '--child', mode, file], {
    maxBuffer: 16 * 1024 * 1024,
    encoding: 'utf8',
  });
  return JSON.parse(out) as ChildReport;
}

function runJq(file: string): { ms: number[]; maxRssMB?: number; summary: unknown } {
  const ms: number[] = [];
  let maxRssMB: number | undefined;
  let summary: unknown;
  for (let r = 0; r < 1; r++) {
    const t0 = performance.now();
    const res = spawnSync('/usr/bin/time', ['-f', '%M', JQ, '-c', JQ_FILTER, file], {
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'utf8',
    });
    ms.push(performance.now() - t0);
    if (res.status !== 0) throw new Error(`jq failed: ${res.stderr}`);
    const kb = Number(res.stderr.trim().split('\n').pop());
    if (Number.isFinite(kb)) maxRssMB = Math.max(maxRssMB ?? 0, kb / 1024);
    summary = (JSON.parse(res.stdout) as { summary: unknown }).summary;
  }
  return { ms, summary, ...(maxRssMB !== undefined ? { maxRssMB } : {}) };
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    child(args[1] as ChildMode, args[2]!);
    return;
  }
  const nIdx = args.indexOf('--resources');
  const n = nIdx >= 0 ? Number(args[nIdx + 1]) : 12_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftplane-plan-bench-'));
  const file = path.join(dir, 'plan.json');
  try {
    const tg = performance.now();
    const bytes = generatePlan(file, n);
    const mb = bytes / 1024 / 1024;
    process.stdout.write(
      `generated ${n} resources, ${mb.toFixed(1)} MB in ${((performance.now() - tg) / 1000).toFixed(1)} s (${file})\n`,
    );

    const timing = runChild('timing', file);
    const parseMem = runChild('parse', file);
    const normMem = runChild('normalize', file);
    const jq = runJq(file);

    const parseMs = best(timing.parseMs);
    const normMs = best(timing.normalizeMs);
    const walkMs = best(timing.walkMs);
    const scanMs = best(timing.scanMs);
    const jqMs = median(jq.ms);
    const vsParse = normMs / parseMs;
    const vsJq = jqMs / normMs;
    const same = sameCounts(timing.summary, jq.summary);

    const f = (x: number): string => x.toFixed(0).padStart(6);
    process.stdout.write(
      [
        `JSON.parse        ${f(parseMs)} ms  ${(mb / (parseMs / 1000)).toFixed(1).padStart(6)} MB/s  peak RSS ${parseMem.maxRssMB.toFixed(0)} MB`,
        `plan normalize    ${f(normMs)} ms  ${(mb / (normMs / 1000)).toFixed(1).padStart(6)} MB/s  peak RSS ${normMem.maxRssMB.toFixed(0)} MB  (of which duplicate-key scan ${scanMs.toFixed(0)} ms, normalizePlan ${walkMs.toFixed(0)} ms)`,
        `jq (same filter)  ${f(jqMs)} ms  ${(mb / (jqMs / 1000)).toFixed(1).padStart(6)} MB/s  peak RSS ${jq.maxRssMB?.toFixed(0) ?? '?'} MB`,
        `summary: ${JSON.stringify(timing.summary)}; jq agrees on the counts: ${same ? 'yes' : 'NO'}`,
        `ratio normalize / JSON.parse = ${vsParse.toFixed(2)}× (target ≤ 1.50×: ${vsParse <= 1.5 ? 'met' : 'MISSED'})`,
        `ratio duplicate-key scan / JSON.parse = ${(scanMs / parseMs).toFixed(2)}× (one pass over the text)`,
        `ratio normalizePlan alone / JSON.parse = ${(walkMs / parseMs).toFixed(2)}× (the walk over the parsed plan)`,
        `ratio jq / normalize         = ${vsJq.toFixed(2)}× (target > 1×, normalize faster than jq: ${vsJq > 1 ? 'met' : 'MISSED'})`,
        `(node: best of ${REPEATS} alternating runs each in one process after a warm-up, medians ${median(timing.parseMs).toFixed(0)} / ${median(timing.normalizeMs).toFixed(0)} ms; jq: one run; peak RSS from one run per process; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs)`,
        '',
      ].join('\n'),
    );
    if (!same) process.exitCode = 1;
  } finally {
    if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

function sameCounts(a: unknown, b: unknown): boolean {
  const x = a as Record<string, number>;
  const y = b as Record<string, number>;
  return ['resourceChanges', 'destructiveChanges', 'identityChanges', 'driftedResources'].every(
    (k) => x[k] === y[k],
  );
}

main();
