// deploy/monitoring: the PrometheusRule alerts and the Grafana dashboard are
// well formed, cover the conditions operators need, and use only series
// the server exports (found in its sources, so no build is needed).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from './lib/repo.mjs';

const MONITORING = path.join(REPO_ROOT, 'deploy/monitoring');
const rules = parse(readFileSync(path.join(MONITORING, 'prometheus-rules.yaml'), 'utf8'));
const dashboard = JSON.parse(readFileSync(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8'));
const alerts = rules.spec.groups.flatMap((group) => group.rules);
const dashboardExpressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));

// Every metric name registered in the server's sources ("halopsa_..." string literals).
function exportedSeries() {
  const names = new Set();
  for (const dir of ['server', 'app', 'adapters/halopsa', 'adapters/net', 'adapters/limacharlie']) {
    for (const file of readdirSync(path.join(REPO_ROOT, dir)).filter((f) => f.endsWith('.cc'))) {
      const text = readFileSync(path.join(REPO_ROOT, dir, file), 'utf8');
      for (const match of text.matchAll(/"(halopsa_[a-z0-9_]+)"/g)) names.add(match[1]);
    }
  }
  return names;
}

// The halopsa_* series an expression reads; histogram suffixes name their family.
function seriesIn(expr) {
  return [...expr.matchAll(/\b(halopsa_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, ''));
}

function balanced(expr) {
  const closing = { '(': ')', '[': ']', '{': '}' };
  const open = [];
  for (const c of expr.replace(/"[^"]*"/g, '""')) {
    if (closing[c]) open.push(closing[c]);
    else if (Object.values(closing).includes(c) && open.pop() !== c) return false;
  }
  return open.length === 0;
}

test('the alert rules are a PrometheusRule whose every rule is complete', () => {
  assert.equal(rules.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(rules.kind, 'PrometheusRule');
  assert.equal(rules.metadata.name, 'halopsa');
  for (const rule of alerts) {
    assert.match(rule.alert, /^HaloPsa[A-Za-z]+$/);
    assert.ok(balanced(rule.expr), `${rule.alert}: unbalanced expression`);
    assert.match(rule.for, /^\d+[smh]$/, `${rule.alert}: for`);
    assert.ok(['warning', 'critical'].includes(rule.labels.severity), `${rule.alert}: severity`);
    assert.ok(rule.annotations.summary && rule.annotations.description, `${rule.alert}: annotations`);
  }
  assert.equal(new Set(alerts.map((rule) => rule.alert)).size, alerts.length, 'alert names repeat');
});

test('the alerts cover what operators need', () => {
  const expressions = alerts.map((rule) => rule.expr).join('\n');
  for (const needed of [
    'halopsa_rpc_errors_total', // error rate by reason
    'status="429"', // HaloPSA rate limiting
    'halopsa_rate_limit_waits_total', // budget waits
    'halopsa_budget_wait_seconds_bucket', // long waits for the budget (storms)
    'container_memory_working_set_bytes', // memory near the limit
    'halopsa_gateway_open_connections', // connections near the cap
    'kube_pod_status_ready', // readiness lost
  ]) {
    assert.ok(expressions.includes(needed), `no alert uses ${needed}`);
  }
});

test('the dashboard is a Grafana dashboard whose every panel queries the chosen data source', () => {
  assert.equal(dashboard.uid, 'ext-halopsa');
  assert.ok(dashboard.schemaVersion >= 30);
  assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource']);
  const ids = dashboard.panels.map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids repeat');
  for (const panel of dashboard.panels) {
    assert.equal(panel.datasource.uid, '${datasource}', panel.title);
    assert.ok(panel.targets.length > 0, panel.title);
    for (const target of panel.targets) assert.ok(balanced(target.expr), `${panel.title}: ${target.expr}`);
  }
});

test('alerts and dashboard use only series the server exports', () => {
  const exported = exportedSeries();
  assert.ok(exported.has('halopsa_rpc_calls_total'), 'could not read the metric names from the sources');
  const used = [...alerts.map((rule) => rule.expr), ...dashboardExpressions].flatMap(seriesIn);
  assert.deepEqual([...new Set(used.filter((name) => !exported.has(name)))], []);
});
