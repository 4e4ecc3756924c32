import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createMetrics as createIngesterMetrics } from '@anton/ingester/metrics';
import { createMetrics as createOrchestratorMetrics } from '@anton/orchestrator/metrics';
import { promtool } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { idOf, type Manifest, render } from './kustomize.ts';

const k8s = resolve(import.meta.dirname, '../../../deploy/k8s');
const monitoring = render(join(k8s, 'monitoring'));
const base = render(join(k8s, 'base'));
const rule = monitoring.find((m) => m.kind === 'PrometheusRule');
const dashboardMap = monitoring.find((m) => m.kind === 'ConfigMap');
const dashboard = JSON.parse(dashboardMap.data['grafana-dashboard.json']);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anton-rules-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The rules file Prometheus would load from the PrometheusRule (the operator does the same). */
async function rulesFile({ annotations = true } = {}): Promise<string> {
  const path = join(dir, annotations ? 'anton.rules.yaml' : 'anton.logic.rules.yaml');
  const groups = rule.spec.groups.map((group: Manifest) => ({
    ...group,
    rules: group.rules.map(({ annotations: text, ...logic }: Manifest) =>
      annotations ? { ...logic, annotations: text } : logic,
    ),
  }));
  await writeFile(path, stringify({ groups }));
  return path;
}

/** Every series name the two services export (with the defaults), histograms' _bucket/_sum/_count too. */
async function exportedSeries(): Promise<Set<string>> {
  const names = new Set<string>();
  const registries = [
    createIngesterMetrics(() => true).registry,
    createOrchestratorMetrics({ defaults: true }).registry,
  ];
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

const seriesIn = (expr: string) => [...expr.matchAll(/\b((?:anton|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]);
const panelExprs = (): string[] =>
  dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
const alerts = (): { alert: string; expr: string }[] => rule.spec.groups.flatMap((g: Manifest) => g.rules);

describe('deploy/k8s/monitoring', () => {
  it('has rules promtool check rules accepts', async () => {
    const verdict = await promtool.checkRules(await rulesFile());
    expect(verdict.output).toMatch(/SUCCESS: 5 rules found/);
    expect(verdict.code).toBe(0);
  });

  it('alerts on dead letters, failing reports, failing runners, nothing consumed, and a lost broker', () => {
    expect(alerts().map((a) => a.alert)).toEqual([
      'AntonTasksDeadLettered',
      'AntonReportsFailing',
      'AntonRunnersFailing',
      'AntonNothingConsumed',
      'AntonIngesterBrokerDown',
    ]);
  });

  it('reads only series the services export, in its rules and its dashboard', async () => {
    const exported = await exportedSeries();
    const used = [...alerts().flatMap((a) => seriesIn(a.expr)), ...panelExprs().flatMap(seriesIn)];
    expect(used.length).toBeGreaterThan(20);
    for (const name of used) expect(exported, name).toContain(name);
    // Every anton metric shows on the dashboard.
    const shown = new Set(panelExprs().flatMap(seriesIn));
    for (const name of exported) {
      if (name.startsWith('anton_') && !/_(sum|count)$/.test(name)) {
        expect(shown.has(name) || shown.has(`${name}_bucket`), `${name} is on no panel`).toBe(true);
      }
    }
  });

  it('fires the alerts when it should (promtool test rules over synthetic series)', async () => {
    const tests = {
      // Annotations left out: the unit tests are about when an alert fires and with which labels.
      rule_files: [await rulesFile({ annotations: false })],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'anton_orchestrator_tasks_dead_lettered_total{reason="no_repository"}', values: '0 0 1 1 1' },
            { series: 'anton_ingester_webhooks_total{source="jira",outcome="published"}', values: '0+1x40' },
            { series: 'anton_orchestrator_tasks_consumed_total{source="jira"}', values: '0+0x40' },
            { series: 'anton_ingester_broker_connected{pod="anton-ingester-0"}', values: '1 1 0x10' },
            { series: 'anton_reports_total{reporter="jira",outcome="failed"}', values: '0 0 1 1 1' },
            { series: 'anton_reports_total{reporter="datadog",outcome="sent"}', values: '0+1x10' },
            { series: 'anton_task_outcomes_total{source="jira",template="node",status="timed_out"}', values: '0+1x80' },
            { series: 'anton_task_outcomes_total{source="jira",template="node",status="pr_opened"}', values: '0+0x80' },
          ],
          alert_rule_test: [
            {
              eval_time: '4m',
              alertname: 'AntonTasksDeadLettered',
              exp_alerts: [{ exp_labels: { severity: 'warning', reason: 'no_repository' } }],
            },
            {
              eval_time: '40m',
              alertname: 'AntonNothingConsumed',
              exp_alerts: [{ exp_labels: { severity: 'critical' } }],
            },
            { eval_time: '10m', alertname: 'AntonNothingConsumed', exp_alerts: [] },
            {
              eval_time: '4m',
              alertname: 'AntonReportsFailing',
              exp_alerts: [{ exp_labels: { severity: 'warning', reporter: 'jira' } }],
            },
            {
              eval_time: '70m',
              alertname: 'AntonRunnersFailing',
              exp_alerts: [{ exp_labels: { severity: 'warning' } }],
            },
            { eval_time: '2m', alertname: 'AntonRunnersFailing', exp_alerts: [] },
            {
              eval_time: '9m',
              alertname: 'AntonIngesterBrokerDown',
              exp_alerts: [{ exp_labels: { severity: 'critical', pod: 'anton-ingester-0' } }],
            },
          ],
        },
      ],
    };
    const path = join(dir, 'anton.rules.test.yaml');
    await writeFile(path, stringify(tests));
    const verdict = await promtool.testRules(path);
    expect(verdict.output).toMatch(/SUCCESS/);
    expect(verdict.code).toBe(0);
  });

  it('scrapes the port named metrics of both services, and ships the dashboard to Grafana', () => {
    const monitor = monitoring.find((m) => m.kind === 'PodMonitor');
    const [expression] = monitor.spec.selector.matchExpressions;
    const selected = base.filter(
      (m) => m.kind === 'Deployment' && expression.values.includes(m.spec.template.metadata.labels[expression.key]),
    );
    expect(selected.map(idOf).sort()).toEqual(['Deployment/anton-ingester', 'Deployment/anton-orchestrator']);
    for (const workload of selected) {
      const ports = workload.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
      expect(ports).toContain(monitor.spec.podMetricsEndpoints[0].port);
    }
    expect(dashboardMap.metadata.labels.grafana_dashboard).toBe('1');
    expect(dashboard.uid).toBe('anton');
    expect(monitoring.every((m) => m.metadata.namespace === 'agents')).toBe(true);
  });
});
