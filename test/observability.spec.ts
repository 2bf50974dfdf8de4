/**
 * The observability layer, run under the mock engine on the real exports of the network and
 * compute layers: alarm names, dimensions and thresholds, the topic's encryption and policies, the
 * Spot interruption rule, the dashboard body, config errors, and the policy checks.
 */
import * as assert from "node:assert/strict";
import { combinedExpression, serviceMetrics } from "../stacks/observability/metrics";
import { ComputeContract, ComputeServiceContract, NetworkContract, ObservabilityContract, ServiceAlarms } from "../stacks/shared";
import { byName, LayerRun, ofType, RecordedResource, runChain, runLayer } from "../scripts/plan/mock-engine";
import { MOCK_ACCOUNT, MOCK_REGION, mockResourceState, PROD_NETWORK_CONFIG } from "../scripts/plan/mock-aws";
import { formatViolations, policyViolations } from "./harness/policy";

const SUFFIX = "dev";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC = "aws:sns/topic:Topic";
const KEY = "aws:kms/key:Key";
const RULE = "aws:cloudwatch/eventRule:EventRule";

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: { Service?: string; AWS?: string };
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const statements = (policy: string): Statement[] => (JSON.parse(policy) as { Statement: Statement[] }).Statement;
const bySid = (policy: string, sid: string): Statement => {
  const st = statements(policy).find((s) => s.Sid === sid);
  assert.ok(st, `no statement ${sid} in ${policy}`);
  return st;
};
/** The ARN the mock engine gives a recorded resource (what its dependents received). */
const arnOf = (r: RecordedResource): string => String(mockResourceState(r.type, r.name, r.inputs).state.arn);

/** Runs observability on recorded upstream runs (real network and compute exports). */
function observe(upstream: LayerRun[], config: Record<string, unknown> = {}): Promise<LayerRun> {
  return runLayer("observability", { upstream, config });
}

describe("observability layer", () => {
  let runs: Record<string, LayerRun>;
  let obs: LayerRun;
  let compute: ComputeContract;
  let network: NetworkContract;
  let exported: ObservabilityContract;
  let topicArn: string;

  before(async () => {
    runs = await runChain(["network", "registry", "compute", "observability"]);
    obs = runs.observability;
    compute = runs.compute.exports as ComputeContract;
    network = runs.network.exports as NetworkContract;
    exported = obs.exports as ObservabilityContract;
    topicArn = exported.snsTopicArn;
  });

  const alarm = (name: string): RecordedResource => {
    const found = ofType(obs, ALARM).find((r) => r.inputs.name === name);
    assert.ok(found, `no alarm named ${name}; have ${ofType(obs, ALARM).map((r) => r.inputs.name)}`);
    return found;
  };
  const services = (): Array<[string, ComputeServiceContract]> => Object.entries(compute.services);
  const isPublic = (s: ComputeServiceContract) => s.targetGroupArnSuffix !== null;

  it("reads the compute and network stacks of the same environment", () => {
    assert.deepEqual([...obs.stackReferences].sort(), [`organization/compute/${SUFFIX}`, `organization/network/${SUFFIX}`]);
    assert.ok(services().length >= 3, "the compute stack exports the default services");
    assert.ok(services().some(([, s]) => isPublic(s)) && services().some(([, s]) => !isPublic(s)), "public and internal services");
  });

  describe("alert topic", () => {
    it("is alerts-{suffix}, encrypted with its own rotating KMS key", () => {
      const topic = byName(obs, TOPIC, "alerts");
      const key = byName(obs, KEY, "alerts-key");
      assert.equal(topic.inputs.name, `alerts-${SUFFIX}`);
      assert.equal(topic.inputs.kmsMasterKeyId, arnOf(key));
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.equal(key.inputs.deletionWindowInDays, 7);
      assert.equal(topicArn, `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT}:alerts-${SUFFIX}`);
    });

    it("lets CloudWatch (this account only) and EventBridge use the key, without conditions EventBridge cannot meet", () => {
      const policy = byName(obs, KEY, "alerts-key").inputs.policy;
      const cw = bySid(policy, "CloudWatchAlarmsPublish");
      assert.deepEqual(cw.Principal, { Service: "cloudwatch.amazonaws.com" });
      assert.deepEqual([cw.Action].flat().sort(), ["kms:Decrypt", "kms:GenerateDataKey*"]);
      assert.deepEqual(cw.Condition, { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT } });
      const ev = bySid(policy, "EventBridgePublish");
      assert.deepEqual(ev.Principal, { Service: "events.amazonaws.com" });
      assert.deepEqual([ev.Action].flat().sort(), ["kms:Decrypt", "kms:GenerateDataKey*"]);
      assert.equal(ev.Condition, undefined, "aws:Source* conditions would drop every EventBridge delivery");
      const admin = bySid(policy, "AccountAdministersKeyThroughIam");
      assert.deepEqual(admin.Principal, { AWS: `arn:aws:iam::${MOCK_ACCOUNT}:root` });
    });

    it("lets CloudWatch alarms of this account and exactly the Spot rule publish, over TLS only", () => {
      const policy = byName(obs, "aws:sns/topicPolicy:TopicPolicy", "alerts-policy");
      assert.equal(policy.inputs.arn, topicArn);
      const cw = bySid(policy.inputs.policy, "CloudWatchAlarmsPublish");
      assert.deepEqual(
        { p: cw.Principal, a: cw.Action, r: cw.Resource, c: cw.Condition },
        {
          p: { Service: "cloudwatch.amazonaws.com" },
          a: "sns:Publish",
          r: topicArn,
          c: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT } },
        },
      );
      const ev = bySid(policy.inputs.policy, "EventBridgeRulesPublish");
      const ruleArn = arnOf(byName(obs, RULE, "spot-interruption"));
      assert.deepEqual(
        { p: ev.Principal, a: ev.Action, r: ev.Resource, c: ev.Condition },
        { p: { Service: "events.amazonaws.com" }, a: "sns:Publish", r: topicArn, c: { ArnEquals: { "aws:SourceArn": [ruleArn] } } },
      );
      const tls = bySid(policy.inputs.policy, "DenyPublishWithoutTls");
      assert.equal(tls.Effect, "Deny");
      assert.deepEqual(tls.Condition, { Bool: { "aws:SecureTransport": "false" } });
    });

    it("has no subscriptions unless alertEmails lists some", () => {
      assert.equal(ofType(obs, "aws:sns/topicSubscription:TopicSubscription").length, 0);
    });
  });

  describe("service alarms", () => {
    it("exist for every compute service under the names the optimizer looks for", () => {
      assert.deepEqual(Object.keys(exported.alarms).sort(), Object.keys(compute.services).sort());
      for (const [svc, s] of services()) {
        const expected: Record<string, string> = {
          cpuHigh: `cpu-high-${svc}-${SUFFIX}`,
          memoryHigh: `memory-high-${svc}-${SUFFIX}`,
          runningTasksLow: `running-tasks-low-${svc}-${SUFFIX}`,
          ...(isPublic(s) ? { unhealthyHosts: `unhealthy-hosts-${svc}-${SUFFIX}`, http5xx: `http-5xx-${svc}-${SUFFIX}` } : {}),
        };
        const names = Object.fromEntries(Object.entries(exported.alarms[svc]).map(([k, v]) => [k, v.name]));
        assert.deepEqual(names, expected, svc);
        for (const name of Object.values(expected)) alarm(name);
      }
      assert.equal(ofType(obs, ALARM).length, 1 + Object.values(exported.alarms).reduce((n, a) => n + Object.keys(a).length, 0));
    });

    it("watch CPU and memory of each ECS service (ClusterName + ServiceName) at 80% by default", () => {
      for (const [svc, s] of services()) {
        const dims = { ClusterName: compute.clusterName, ServiceName: s.serviceName };
        for (const [kind, metric] of [
          ["cpu-high", "CPUUtilization"],
          ["memory-high", "MemoryUtilization"],
        ] as const) {
          const a = alarm(`${kind}-${svc}-${SUFFIX}`).inputs;
          assert.deepEqual(
            { ns: a.namespace, metric: a.metricName, dims: a.dimensions, stat: a.statistic, cmp: a.comparisonOperator, t: a.threshold },
            { ns: "AWS/ECS", metric, dims, stat: "Average", cmp: "GreaterThanThreshold", t: 80 },
            `${kind} ${svc}`,
          );
          assert.equal(a.treatMissingData, "notBreaching");
        }
        assert.equal(exported.alarms[svc].cpuHigh.threshold, 80);
        assert.equal(exported.alarms[svc].memoryHigh.threshold, 80);
      }
    });

    it("alarm on running tasks below each service's autoscaling minimum (Container Insights), missing data breaching", () => {
      for (const [svc, s] of services()) {
        const a = alarm(`running-tasks-low-${svc}-${SUFFIX}`).inputs;
        assert.equal(a.namespace, "ECS/ContainerInsights");
        assert.equal(a.metricName, "RunningTaskCount");
        assert.deepEqual(a.dimensions, { ClusterName: compute.clusterName, ServiceName: s.serviceName });
        assert.equal(a.comparisonOperator, "LessThanThreshold");
        assert.equal(a.threshold, s.minCapacity, svc);
        assert.equal(exported.alarms[svc].runningTasksLow.threshold, s.minCapacity);
        assert.equal(a.treatMissingData, "breaching", "no data from Container Insights is the outage itself");
      }
    });

    it("watch the target group (TargetGroup + LoadBalancer) of public services only", () => {
      for (const [svc, s] of services()) {
        if (!isPublic(s)) {
          assert.equal(exported.alarms[svc].unhealthyHosts, undefined, svc);
          assert.equal(exported.alarms[svc].http5xx, undefined, svc);
          assert.ok(
            !ofType(obs, ALARM).some((r) => String(r.inputs.name).includes(`-${svc}-`) && r.inputs.namespace === "AWS/ApplicationELB"),
          );
          continue;
        }
        assert.equal(s.alternateTargetGroupArnSuffix, null, `${svc} deploys rolling in dev: one target group`);
        const dims = { TargetGroup: s.targetGroupArnSuffix, LoadBalancer: network.albArnSuffix };
        const unhealthy = alarm(`unhealthy-hosts-${svc}-${SUFFIX}`).inputs;
        assert.equal(unhealthy.metricQueries, undefined, "one target group needs no metric math");
        assert.deepEqual(
          {
            ns: unhealthy.namespace,
            m: unhealthy.metricName,
            d: unhealthy.dimensions,
            c: unhealthy.comparisonOperator,
            t: unhealthy.threshold,
          },
          { ns: "AWS/ApplicationELB", m: "UnHealthyHostCount", d: dims, c: "GreaterThanThreshold", t: 0 },
        );
        const http = alarm(`http-5xx-${svc}-${SUFFIX}`).inputs;
        assert.deepEqual(
          { ns: http.namespace, m: http.metricName, d: http.dimensions, s: http.statistic, c: http.comparisonOperator, t: http.threshold },
          { ns: "AWS/ApplicationELB", m: "HTTPCode_Target_5XX_Count", d: dims, s: "Sum", c: "GreaterThanThreshold", t: 10 },
        );
        assert.equal(http.treatMissingData, "notBreaching", "the ALB publishes 5xx counts only in minutes that had some");
        assert.equal(http.metricQueries, undefined);
      }
    });

    it("notify the topic on ALARM and on OK, and need several datapoints to fire", () => {
      for (const a of ofType(obs, ALARM)) {
        assert.deepEqual(a.inputs.alarmActions, [topicArn], a.name);
        assert.deepEqual(a.inputs.okActions, [topicArn], a.name);
        assert.ok(a.inputs.datapointsToAlarm <= a.inputs.evaluationPeriods, a.name);
        assert.ok(["notBreaching", "breaching"].includes(a.inputs.treatMissingData), a.name);
        assert.ok(String(a.inputs.alarmDescription).length > 20, a.name);
      }
      for (const [svc] of services()) {
        const cpu = alarm(`cpu-high-${svc}-${SUFFIX}`).inputs;
        assert.ok(cpu.datapointsToAlarm >= 3 && cpu.period === 60, "a single spike does not page");
      }
    });

    it("are tagged with their service through a per-service provider", () => {
      for (const [svc] of services()) {
        assert.equal(alarm(`cpu-high-${svc}-${SUFFIX}`).provider, `observability-${svc}-aws`);
        const provider = byName(obs, "pulumi:providers:aws", `observability-${svc}-aws`);
        assert.equal(JSON.parse(provider.inputs.defaultTags).tags.Service, svc);
      }
    });
  });

  describe("Spot interruptions", () => {
    it("an EventBridge rule matches STOPPED tasks of this cluster with stopCode SpotInterruption", () => {
      const rule = byName(obs, RULE, "spot-interruption");
      assert.equal(rule.inputs.name, `spot-interruption-${SUFFIX}`);
      assert.deepEqual(JSON.parse(rule.inputs.eventPattern), {
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: { clusterArn: [compute.clusterArn], lastStatus: ["STOPPED"], stopCode: ["SpotInterruption"] },
      });
    });

    it("targets the topic with a readable message", () => {
      const target = byName(obs, "aws:cloudwatch/eventTarget:EventTarget", "spot-interruption-alerts");
      assert.equal(target.inputs.rule, `spot-interruption-${SUFFIX}`);
      assert.equal(target.inputs.arn, topicArn);
      const t = target.inputs.inputTransformer;
      assert.equal(t.inputPaths.task, "$.detail.taskArn");
      assert.equal(typeof JSON.parse(t.inputTemplate.replace(/<\w+>/g, "x")), "string", "a quoted template is delivered as text");
    });

    it("dev has no WAF (the network's default), so no WAF alarm", () => {
      assert.equal(exported.wafBlockedAlarmName, null);
      assert.ok(!ofType(obs, ALARM).some((r) => String(r.inputs.name).startsWith("waf-blocked")));
    });

    it("an alarm on the rule's invocations notifies the topic", () => {
      const a = alarm(`spot-interruptions-${SUFFIX}`).inputs;
      assert.equal(exported.spotInterruptionAlarmName, `spot-interruptions-${SUFFIX}`);
      assert.deepEqual(
        { ns: a.namespace, m: a.metricName, d: a.dimensions, s: a.statistic, c: a.comparisonOperator, t: a.threshold },
        {
          ns: "AWS/Events",
          m: "Invocations",
          d: { RuleName: `spot-interruption-${SUFFIX}` },
          s: "Sum",
          c: "GreaterThanOrEqualToThreshold",
          t: 1,
        },
      );
      assert.equal(a.treatMissingData, "notBreaching");
      assert.deepEqual(a.alarmActions, [topicArn]);
      assert.deepEqual(a.okActions, [topicArn]);
    });
  });

  describe("dashboard", () => {
    type Widget = { type: string; x: number; y: number; width: number; height: number; properties: Record<string, any> };
    let widgets: Widget[];

    before(() => {
      const d = byName(obs, "aws:cloudwatch/dashboard:Dashboard", "dashboard");
      assert.equal(d.inputs.dashboardName, `ecs-${SUFFIX}`);
      assert.equal(exported.dashboardName, `ecs-${SUFFIX}`);
      widgets = (JSON.parse(d.inputs.dashboardBody) as { widgets: Widget[] }).widgets;
    });

    const graphsOf = (serviceName: string): Widget[] => {
      const header = widgets.findIndex((w) => w.type === "text" && String(w.properties.markdown).includes(serviceName));
      assert.ok(header >= 0, `no row for ${serviceName}`);
      const y = widgets[header].y + widgets[header].height;
      return widgets.filter((w) => w.type === "metric" && w.y === y);
    };

    it("has a row per service: CPU, memory, running tasks; requests and 5xx for public services", () => {
      for (const [svc, s] of services()) {
        const row = graphsOf(s.serviceName);
        const ecs = ["ClusterName", compute.clusterName, "ServiceName", s.serviceName];
        const expected: unknown[][] = [
          ["AWS/ECS", "CPUUtilization", ...ecs],
          ["AWS/ECS", "MemoryUtilization", ...ecs],
          ["ECS/ContainerInsights", "RunningTaskCount", ...ecs],
        ];
        if (isPublic(s)) {
          const tg = ["TargetGroup", s.targetGroupArnSuffix, "LoadBalancer", network.albArnSuffix];
          expected.push(["AWS/ApplicationELB", "RequestCount", ...tg], ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", ...tg]);
        }
        assert.deepEqual(
          row.map((w) => w.properties.metrics[0]),
          expected,
          svc,
        );
        for (const w of row) {
          assert.equal(w.properties.metrics.length, 1);
          assert.equal(w.properties.region, MOCK_REGION);
        }
        // Alarm annotations name the alarms by ARN, so CloudWatch draws each threshold as it is
        // now: no threshold is written into the body, where a retuned alarm would leave it stale.
        assert.match(row[0].properties.annotations.alarms[0], new RegExp(`:alarm:cpu-high-${svc}-${SUFFIX}$`));
        assert.match(row[1].properties.annotations.alarms[0], new RegExp(`:alarm:memory-high-${svc}-${SUFFIX}$`));
        assert.match(row[2].properties.annotations.alarms[0], new RegExp(`:alarm:running-tasks-low-${svc}-${SUFFIX}$`));
        assert.ok(!JSON.stringify(row).includes("horizontal"), "no threshold value is copied into the dashboard");
      }
    });

    it("lays widgets on the 24-column grid without overlap", () => {
      const rows = new Map<number, Widget[]>();
      for (const w of widgets) rows.set(w.y, [...(rows.get(w.y) ?? []), w]);
      for (const [y, row] of rows) {
        const width = row.reduce((n, w) => n + w.width, 0);
        assert.equal(width, 24, `row at y=${y}`);
        const xs = row.map((w) => w.x);
        assert.deepEqual(
          xs,
          [...xs].sort((a, b) => a - b),
        );
        row.forEach((w, i) => i > 0 && assert.equal(w.x, row[i - 1].x + row[i - 1].width));
      }
    });
  });

  it("passes the policy checks", () => {
    const violations = policyViolations(obs, SUFFIX);
    assert.equal(violations.length, 0, formatViolations(violations));
  });

  describe("config", () => {
    const upstream = () => [runs.network, runs.compute];

    it("applies layer-wide thresholds and per-service overrides", async () => {
      const [pub] = services().find(([, s]) => isPublic(s))!;
      const [other] = services().find(([n]) => n !== pub)!;
      const run = await observe(upstream(), {
        cpuHighThreshold: 90,
        http5xxThreshold: 50,
        thresholds: { [pub]: { cpuHigh: 65, http5xx: 5 } },
      });
      const alarms = run.exports.alarms as Record<string, ServiceAlarms>;
      const threshold = (name: string) => ofType(run, ALARM).find((r) => r.inputs.name === name)?.inputs.threshold;
      assert.equal(threshold(`cpu-high-${pub}-${SUFFIX}`), 65);
      assert.equal(threshold(`memory-high-${pub}-${SUFFIX}`), 80);
      assert.equal(threshold(`http-5xx-${pub}-${SUFFIX}`), 5);
      assert.equal(threshold(`cpu-high-${other}-${SUFFIX}`), 90);
      assert.deepEqual(alarms[pub].cpuHigh, { name: `cpu-high-${pub}-${SUFFIX}`, threshold: 65 });
      assert.equal(alarms[other].cpuHigh.threshold, 90);
      for (const [svc, s] of services().filter(([n, s]) => n !== pub && isPublic(s))) {
        assert.equal(threshold(`http-5xx-${svc}-${SUFFIX}`), 50, s.serviceName);
      }
    });

    it("takes fractional percentages, as the optimizer's write-back records them", async () => {
      const [svc] = services()[0];
      const run = await observe(upstream(), { thresholds: { [svc]: { cpuHigh: 62.5, memoryHigh: 66.7 } } });
      const threshold = (name: string) => ofType(run, ALARM).find((r) => r.inputs.name === name)?.inputs.threshold;
      assert.equal(threshold(`cpu-high-${svc}-${SUFFIX}`), 62.5);
      assert.equal(threshold(`memory-high-${svc}-${SUFFIX}`), 66.7);
    });

    it("subscribes each alert email", async () => {
      const run = await observe(upstream(), { alertEmails: ["ops@example.com", "on-call+ecs@example.org"] });
      const subs = ofType(run, "aws:sns/topicSubscription:TopicSubscription");
      assert.deepEqual(
        subs.map((s) => [s.inputs.protocol, s.inputs.endpoint, s.inputs.topic]),
        [
          ["email", "ops@example.com", topicArn],
          ["email", "on-call+ecs@example.org", topicArn],
        ],
      );
    });

    for (const [emails, why] of [
      [["ops@example.com", "not-an-address"], /observability:alertEmails.*"not-an-address" is not an email address/],
      [["ops@example"], /"ops@example" is not an email address/],
      [["a b@example.com"], /is not an email address/],
      [["ops@example.com", "ops@example.com"], /observability:alertEmails.*listed twice/],
      ["ops@example.com", /observability:alertEmails.*expected a structured/],
    ] as const) {
      it(`rejects alertEmails ${JSON.stringify(emails)}`, async () => {
        await assert.rejects(observe(upstream(), { alertEmails: emails }), why);
      });
    }

    for (const [config, why] of [
      [{ cpuHighThreshold: 150 }, /observability:cpuHighThreshold = "150": expected a whole number from 1 to 100/],
      [{ memoryHighThreshold: "high" }, /observability:memoryHighThreshold/],
      [
        { thresholds: { frontend: { cpu: 50 } } },
        /observability:thresholds\.frontend .*unknown key cpu; allowed keys are cpuHigh, memoryHigh, http5xx/,
      ],
      [
        { thresholds: { frontend: { memoryHigh: 0 } } },
        /observability:thresholds\.frontend\.memoryHigh = 0: expected a number from 1 to 100/,
      ],
      [
        { thresholds: { frontend: { http5xx: 2.5 } } },
        /observability:thresholds\.frontend\.http5xx = 2\.5: expected a whole number from 1 to 100000/,
      ],
      [
        { thresholds: { "no-such-service": { cpuHigh: 50 } } },
        /observability:thresholds .*"no-such-service" is not a service of the compute stack/,
      ],
      [{ thresholds: ["frontend"] }, /observability:thresholds .*expected a map/],
    ] as const) {
      it(`rejects ${JSON.stringify(config)}`, async () => {
        await assert.rejects(observe(upstream(), config), why);
      });
    }

    it("refuses a compute stack in another region", async () => {
      await assert.rejects(observe(upstream(), { "aws:region": "eu-west-1" }), /aws:region = "eu-west-1".*runs in us-east-1/);
    });

    it("refuses a compute stack that speaks another contract version", async () => {
      // The only upstream edited by hand: the real compute exports with a future contractVersion.
      const future: LayerRun = { ...runs.compute, exports: { ...runs.compute.exports, contractVersion: 2 } };
      await assert.rejects(
        observe([runs.network, future]),
        /organization\/compute\/dev \(compute layer\) exports contractVersion 2; this layer reads version 1/,
      );
    });
  });

  describe("the prod (blue/green) compute stack", () => {
    let prod: Record<string, LayerRun>;
    let c: ComputeContract;
    let o: ObservabilityContract;
    let prodTopic: string;

    before(async () => {
      prod = await runChain(["network", "registry", "compute", "observability"], {
        stack: "prod",
        config: { tier: "prod", ...PROD_NETWORK_CONFIG },
      });
      c = prod.compute.exports as ComputeContract;
      o = prod.observability.exports as ObservabilityContract;
      prodTopic = o.snsTopicArn;
    });

    const prodAlarm = (name: string): Record<string, any> => {
      const found = ofType(prod.observability, ALARM).find((r) => r.inputs.name === name);
      assert.ok(found, `no alarm named ${name}`);
      return found.inputs;
    };
    const blueGreen = (): Array<[string, ComputeServiceContract]> =>
      Object.entries(c.services).filter(([, s]) => s.alternateTargetGroupArnSuffix !== null);

    it("is watched the same way: every service's alarms, names and thresholds", () => {
      assert.deepEqual(Object.keys(o.alarms).sort(), Object.keys(c.services).sort());
      for (const [svc, s] of Object.entries(c.services)) {
        assert.equal(o.alarms[svc].runningTasksLow.threshold, s.minCapacity);
        assert.equal(o.alarms[svc].cpuHigh.name, `cpu-high-${svc}-prod`);
        assert.equal(o.alarms[svc].http5xx !== undefined, s.targetGroupArnSuffix !== null, svc);
      }
      const violations = policyViolations(prod.observability, "prod");
      assert.equal(violations.length, 0, formatViolations(violations));
    });

    it("watches the network's WAF: an alarm on blocked requests and its graphs on the dashboard", () => {
      const acl = (prod.network.exports as NetworkContract).wafWebAclName;
      assert.equal(acl, "alb-waf-prod");
      const alarm = prodAlarm("waf-blocked-prod");
      assert.deepEqual(
        [alarm.namespace, alarm.metricName, alarm.dimensions, alarm.statistic, alarm.period, alarm.threshold],
        ["AWS/WAFV2", "BlockedRequests", { WebACL: acl, Region: "us-east-1", Rule: "ALL" }, "Sum", 300, 100],
      );
      assert.deepEqual([alarm.alarmActions, alarm.okActions], [[prodTopic], [prodTopic]]);
      assert.equal(o.wafBlockedAlarmName, "waf-blocked-prod");
      const body = byName(prod.observability, "aws:cloudwatch/dashboard:Dashboard", "dashboard").inputs.dashboardBody;
      const widgets = (JSON.parse(body) as { widgets: Array<{ type: string; properties: Record<string, any> }> }).widgets;
      const blocked = widgets.find((w) => w.properties.title === "Blocked requests / 5 min");
      assert.ok(blocked, "no WAF graph");
      assert.deepEqual(blocked.properties.metrics, [["AWS/WAFV2", "BlockedRequests", "WebACL", acl, "Region", "us-east-1", "Rule", "ALL"]]);
      assert.ok(widgets.some((w) => w.properties.title === "Allowed requests / 5 min"));
    });

    it("exports an alternate target group for every public service", () => {
      const pub = Object.entries(c.services).filter(([, s]) => s.targetGroupArnSuffix !== null);
      assert.ok(pub.length >= 2);
      assert.deepEqual(blueGreen(), pub);
    });

    it("unhealthy-hosts and http-5xx cover both target groups with metric math, all else unchanged", () => {
      for (const [svc, s] of blueGreen()) {
        const groups = [s.targetGroupArnSuffix, s.alternateTargetGroupArnSuffix];
        assert.notEqual(groups[0], groups[1]);
        for (const [prefix, metricName, stat, fn, threshold] of [
          ["unhealthy-hosts", "UnHealthyHostCount", "Maximum", "MAX", 0],
          ["http-5xx", "HTTPCode_Target_5XX_Count", "Sum", "SUM", 10],
        ] as const) {
          const name = `${prefix}-${svc}-prod`;
          const a = prodAlarm(name);
          for (const single of ["namespace", "metricName", "dimensions", "statistic", "period"]) {
            assert.equal(a[single], undefined, `${name} sets ${single} beside metricQueries`);
          }
          const queries = a.metricQueries as Array<Record<string, any>>;
          assert.deepEqual(
            queries.slice(0, 2).map((q) => ({ id: q.id, returnData: q.returnData, metric: q.metric })),
            groups.map((group, i) => ({
              id: `m${i + 1}`,
              returnData: false,
              metric: {
                namespace: "AWS/ApplicationELB",
                metricName,
                dimensions: { TargetGroup: group, LoadBalancer: (prod.network.exports as NetworkContract).albArnSuffix },
                stat,
                period: 60,
              },
            })),
            name,
          );
          assert.equal(queries.length, 3);
          assert.deepEqual(
            { id: queries[2].id, e: queries[2].expression, r: queries[2].returnData },
            { id: "e1", e: `${fn}([m1, m2])`, r: true },
          );
          assert.deepEqual(
            {
              t: a.threshold,
              c: a.comparisonOperator,
              ev: a.evaluationPeriods,
              dp: a.datapointsToAlarm,
              missing: a.treatMissingData,
              alarm: a.alarmActions,
              ok: a.okActions,
            },
            { t: threshold, c: "GreaterThanThreshold", ev: 5, dp: 3, missing: "notBreaching", alarm: [prodTopic], ok: [prodTopic] },
            name,
          );
        }
        assert.deepEqual(o.alarms[svc].unhealthyHosts, { name: `unhealthy-hosts-${svc}-prod`, threshold: 0 });
        assert.deepEqual(o.alarms[svc].http5xx, { name: `http-5xx-${svc}-prod`, threshold: 10 });
        // The ECS signals do not depend on the target group.
        assert.equal(prodAlarm(`cpu-high-${svc}-prod`).metricQueries, undefined);
        assert.equal(prodAlarm(`cpu-high-${svc}-prod`).metricName, "CPUUtilization");
      }
    });

    it("watches only the primary of a compute stack released before it exported the alternate", () => {
      const [, s] = blueGreen()[0];
      const older: Partial<ComputeServiceContract> = { ...s };
      delete older.alternateTargetGroupArnSuffix;
      const m = serviceMetrics(c.clusterName, "app/alb/1", older as ComputeServiceContract);
      assert.deepEqual(
        m.http5xx?.map((x) => x.dimensions.TargetGroup),
        [s.targetGroupArnSuffix],
      );
      assert.equal(serviceMetrics(c.clusterName, "app/alb/1", s).http5xx?.length, 2);
      assert.throws(() => combinedExpression("Average", ["m1", "m2"]), /Average series .* cannot be combined/);
    });

    it("the dashboard graphs requests and 5xx of both target groups and their total", () => {
      const body = byName(prod.observability, "aws:cloudwatch/dashboard:Dashboard", "dashboard").inputs.dashboardBody;
      const widgets = (JSON.parse(body) as { widgets: Array<{ type: string; properties: Record<string, any> }> }).widgets;
      for (const [svc, s] of blueGreen()) {
        const alb = (prod.network.exports as NetworkContract).albArnSuffix;
        for (const [title, metricName, threshold] of [
          ["Requests / min", "RequestCount", undefined],
          ["Target 5xx / min", "HTTPCode_Target_5XX_Count", o.alarms[svc].http5xx],
        ] as const) {
          const graph = widgets.find(
            (w) => w.properties.title === title && JSON.stringify(w.properties.metrics).includes(s.targetGroupArnSuffix!),
          );
          assert.ok(graph, `${svc}: no ${title} graph`);
          const label = (g: string) => g.split("/")[1];
          assert.deepEqual(graph.properties.metrics, [
            [
              "AWS/ApplicationELB",
              metricName,
              "TargetGroup",
              s.targetGroupArnSuffix,
              "LoadBalancer",
              alb,
              { id: "m1", label: label(s.targetGroupArnSuffix!) },
            ],
            [
              "AWS/ApplicationELB",
              metricName,
              "TargetGroup",
              s.alternateTargetGroupArnSuffix,
              "LoadBalancer",
              alb,
              { id: "m2", label: label(s.alternateTargetGroupArnSuffix!) },
            ],
            [{ expression: "SUM([m1, m2])", label: "All target groups", id: "e1" }],
          ]);
          assert.equal(graph.properties.stat, "Sum");
          if (threshold) assert.match(graph.properties.annotations.alarms[0], new RegExp(`:alarm:${threshold.name}$`));
        }
      }
    });
  });

  describe("a service added to the compute catalog", () => {
    const NEW = "billing-service";
    let added: Record<string, LayerRun>;

    before(async () => {
      added = await runChain(["network", "registry", "compute", "observability"], {
        configs: {
          registry: { services: ["frontend", "api-gateway", "processing-service", NEW] },
          compute: { services: { [NEW]: { path: "/billing/*", minCapacity: 3, maxCapacity: 8 } } },
        },
      });
    });

    it("gets its alarms and dashboard row with no observability config", () => {
      const svc = (added.compute.exports as ComputeContract).services[NEW];
      assert.ok(svc, "the compute stack runs the new service");
      const alarms = (added.observability.exports as ObservabilityContract).alarms[NEW];
      assert.deepEqual(alarms.runningTasksLow, { name: `running-tasks-low-${NEW}-${SUFFIX}`, threshold: svc.minCapacity });
      assert.equal(svc.minCapacity, 3);
      assert.equal(alarms.http5xx?.name, `http-5xx-${NEW}-${SUFFIX}`);
      const unhealthy = ofType(added.observability, ALARM).find((r) => r.inputs.name === `unhealthy-hosts-${NEW}-${SUFFIX}`);
      assert.deepEqual(unhealthy?.inputs.dimensions, {
        TargetGroup: svc.targetGroupArnSuffix,
        LoadBalancer: (added.network.exports as NetworkContract).albArnSuffix,
      });
      const body = byName(added.observability, "aws:cloudwatch/dashboard:Dashboard", "dashboard").inputs.dashboardBody;
      assert.match(body, new RegExp(`### ${svc.serviceName} `));
      assert.equal(policyViolations(added.observability, SUFFIX).length, 0);
    });
  });
});
