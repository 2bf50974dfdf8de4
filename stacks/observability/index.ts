/**
 * The observability layer: an encrypted alert topic, per-service alarms, a Spot interruption watch
 * and a dashboard, for the services the compute stack runs. Exports the observability contract,
 * which the optimizer reads to find the alarms it retunes.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  CONTRACT_VERSIONS,
  ComputeContract,
  ConfigError,
  Exported,
  LayerConfig,
  LayerReference,
  NetworkContract,
  ObservabilityContract,
  Scope,
  ServiceAlarms,
  platformSettings,
} from "../shared";
import { serviceAlarms } from "./alarms";
import { allowPublishers, alertTopic } from "./alerts";
import { DashboardBuilder, serviceGraphs } from "./dashboard";
import { serviceMetrics } from "./metrics";
import { observabilitySettings, thresholdsFor } from "./settings";
import { spotInterruptionMetric, spotInterruptionRule, spotInterruptionWatch } from "./spot";
import { wafBlockedAlarm, wafMetric } from "./waf";

const cfg = new LayerConfig();
const platform = platformSettings(cfg);
const settings = observabilitySettings(cfg);
const scope = Scope.forLayer(platform, "observability");
const names = scope.names;

const computeStack = cfg.stackReference("computeStack", "compute");
const compute = new LayerReference<ComputeContract>("compute", computeStack);
const network = new LayerReference<NetworkContract>("network", cfg.stackReference("networkStack", "network"));

// Alert topic, then the Spot rule (the topic policy names it), then the rule's target and alarm.
const alerts = alertTopic(scope, { emails: settings.alertEmails });
const spot = spotInterruptionRule(scope, { clusterArn: compute.get("clusterArn"), clusterName: compute.get("clusterName") });
const topicPolicy = allowPublishers(scope, alerts, { eventRuleArns: [spot.rule.arn] });
const spotAlarm = spotInterruptionWatch(scope, {
  rule: spot.rule,
  ruleName: spot.name,
  topicArn: alerts.topic.arn,
  topicPolicy,
  threshold: settings.spotInterruptionThreshold,
});

/**
 * Which services to watch comes from the compute stack itself, not from this layer's config, so a
 * team adds a service to the compute catalog and gets its alarms and dashboard row on the next
 * observability update without touching this stack. The list decides which resources exist, so it
 * must be a plain value, not an Output: resources declared inside `apply` are invisible to preview.
 * Stack reference outputs are read from the upstream state during preview too, so awaiting them
 * (LayerReference.value) gives preview and update the same, complete plan. Only thresholds are
 * configured here (`thresholds.<service>` overrides, checked against the compute catalog).
 */
async function watchServices(): Promise<{
  alarms: Record<string, ServiceAlarms>;
  dashboardName: pulumi.Output<string>;
  wafBlockedAlarmName: pulumi.Output<string> | null;
}> {
  const [services, clusterName, region, upstreamSuffix, albArnSuffix, webAclName] = await Promise.all([
    compute.value("services"),
    compute.value("clusterName"),
    compute.value("region"),
    compute.value("environmentSuffix"),
    network.value("albArnSuffix"),
    network.value("wafWebAclName"),
  ]);
  if (region !== platform.region) {
    // Alarms only see metrics of their own region; a mismatch would watch nothing, silently.
    throw new ConfigError("aws:region", platform.region, `the compute stack ${computeStack} runs in ${region}; use the same region`);
  }
  if (upstreamSuffix !== platform.environmentSuffix) {
    throw new ConfigError(
      cfg.key("computeStack"),
      computeStack,
      `that stack is environment ${upstreamSuffix}, this one ${platform.environmentSuffix}; point it at the same environment`,
    );
  }
  const thresholds = thresholdsFor(cfg, settings, Object.keys(services));
  const board = new DashboardBuilder(platform.region)
    .header(`### Fargate Spot interruptions in ${clusterName}`)
    .row(
      [{ title: "Interrupted tasks / 5 min", metric: spotInterruptionMetric(spot.name), stat: "Sum", period: 300, yAxis: { min: 0 } }],
      4,
    );
  // The network's WAF (prod by default): what it blocks and lets through, and an alarm on blocks.
  let wafAlarm: aws.cloudwatch.MetricAlarm | null = null;
  if (webAclName !== null) {
    wafAlarm = wafBlockedAlarm(scope, { webAclName, region, threshold: settings.wafBlockedThreshold, topicArn: alerts.topic.arn });
    board.header(`### WAF ${webAclName} in front of the ALB`).row(
      [
        {
          title: "Blocked requests / 5 min",
          metric: wafMetric("BlockedRequests", webAclName, region),
          stat: "Sum",
          period: 300,
          alarmArn: wafAlarm.arn,
          yAxis: { min: 0 },
        },
        {
          title: "Allowed requests / 5 min",
          metric: wafMetric("AllowedRequests", webAclName, region),
          stat: "Sum",
          period: 300,
          yAxis: { min: 0 },
        },
      ],
      4,
    );
  }
  const alarms: Record<string, ServiceAlarms> = {};
  for (const [service, contract] of Object.entries(services)) {
    const metrics = serviceMetrics(clusterName, albArnSuffix, contract);
    const { refs, arns } = serviceAlarms(scope.forService(service), {
      service,
      contract,
      metrics,
      thresholds: thresholds[service],
      topicArn: alerts.topic.arn,
    });
    alarms[service] = refs;
    const kind = contract.targetGroupArnSuffix === null ? "internal" : "public";
    board.header(`### ${contract.serviceName} (${kind}, ${contract.critical ? "critical, on-demand" : "Spot-eligible"})`);
    board.row(serviceGraphs(metrics, arns));
  }
  const dashboard = new aws.cloudwatch.Dashboard(
    "dashboard",
    { dashboardName: names.of("ecs"), dashboardBody: board.body() },
    scope.opts(),
  );
  return { alarms, dashboardName: dashboard.dashboardName, wafBlockedAlarmName: wafAlarm ? wafAlarm.name : null };
}

const watched = pulumi.output(watchServices());

const outputs: Exported<ObservabilityContract> = {
  contractVersion: CONTRACT_VERSIONS.observability,
  environmentSuffix: platform.environmentSuffix,
  snsTopicArn: alerts.topic.arn,
  dashboardName: watched.apply((w) => w.dashboardName),
  alarms: watched.apply((w) => w.alarms),
  spotInterruptionAlarmName: spotAlarm.name,
  wafBlockedAlarmName: watched.apply((w) => w.wafBlockedAlarmName),
};

export = outputs;
