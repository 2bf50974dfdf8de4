/**
 * The stand-in AWS provider's diff and the fake-AWS table it shares with the mock engine
 * (the parts that need no engine; test/e2e runs the provider on the real one).
 */
import * as assert from "node:assert/strict";
import { mockComputedKeys, mockResourceState } from "../scripts/plan/mock-aws";
import { changedKeys, matches, parseUrn, replacementKeys, reveal } from "./harness/provider/provider";
import { deploymentConfiguration } from "./harness/provider/emulated";

const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const SERVICE = "aws:ecs/service:Service";

describe("the stand-in AWS provider", () => {
  it("reads the type and name from a URN, also under a parent", () => {
    assert.deepEqual(parseUrn("urn:pulumi:dev::compute::platform:layer:compute$aws:ecs/service:Service::api-service"), [
      SERVICE,
      "api-service",
    ]);
  });

  it("unwraps secrets before a value reaches AWS", () => {
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "s3cret" };
    assert.deepEqual(reveal({ a: [secret], b: 1 }), { a: ["s3cret"], b: 1 });
  });

  it("compares JSON documents by value and numbers with their string forms", () => {
    assert.ok(matches('{"a":1,"b":[1,2]}', '{ "b": [1, 2], "a": 1 }'));
    assert.ok(!matches('{"a":1}', '{"a":2}'));
    assert.ok(matches("512", 512));
    assert.ok(!matches("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "anything"), "an unknown value is a change");
  });

  it("ignores what AWS fills in that the program leaves out, but not a changed value", () => {
    const live = [{ capacityProvider: "FARGATE", weight: 1, base: 0 }];
    assert.ok(matches([{ capacityProvider: "FARGATE", weight: 1 }], live));
    assert.ok(!matches([{ capacityProvider: "FARGATE", weight: 1, base: 1 }], live));
    assert.ok(
      !matches(
        [
          { capacityProvider: "FARGATE", weight: 1 },
          { capacityProvider: "FARGATE_SPOT", weight: 3 },
        ],
        live,
      ),
    );
  });

  it("diffs inputs, not the attributes the table computes, and sees a removed input", () => {
    const { state } = mockResourceState(SERVICE, "svc", { name: "svc-dev", desiredCount: 3, cluster: "arn:c" });
    assert.deepEqual(changedKeys(SERVICE, state, { name: "svc-dev", desiredCount: 3, cluster: "arn:c" }), []);
    assert.deepEqual(changedKeys(SERVICE, state, { name: "svc-dev", desiredCount: 2, cluster: "arn:c" }), ["desiredCount"]);
    assert.deepEqual(changedKeys(SERVICE, state, { name: "svc-dev", cluster: "arn:c" }), ["desiredCount"]);
    assert.ok(mockComputedKeys(SERVICE).includes("arn"));
  });

  it("sends a service's flat deployment inputs to ECS as one deploymentConfiguration, alarms included", () => {
    const inputs = {
      deploymentConfiguration: { strategy: "BLUE_GREEN", bakeTimeInMinutes: "10" },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMaximumPercent: 200,
      deploymentMinimumHealthyPercent: 100,
      alarms: { alarmNames: ["deploy-5xx-rate-frontend-prod"], enable: true, rollback: true },
    };
    assert.deepEqual(deploymentConfiguration(inputs), {
      strategy: "BLUE_GREEN",
      bakeTimeInMinutes: 10,
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: ["deploy-5xx-rate-frontend-prod"], enable: true, rollback: true },
    });
    const rolling = deploymentConfiguration({ deploymentConfiguration: { strategy: "ROLLING" } });
    assert.deepEqual([rolling.strategy, rolling.bakeTimeInMinutes, rolling.alarms], ["ROLLING", undefined, undefined]);
  });

  it("replaces a task definition on any change but its tags, and a service only on a new name or cluster", () => {
    assert.deepEqual(replacementKeys(TASK, ["cpu", "tags", "trackLatest"]), ["cpu"]);
    assert.deepEqual(replacementKeys(SERVICE, ["desiredCount", "taskDefinition"]), []);
    assert.deepEqual(replacementKeys(SERVICE, ["name"]), ["name"]);
  });
});

describe("the fake-AWS table", () => {
  it("keeps an `arn` input as given (TopicPolicy, EventTarget) and makes one up only where none is given", () => {
    const topicArn = "arn:aws:sns:us-east-1:123456789012:alerts-dev";
    assert.equal(mockResourceState("aws:sns/topicPolicy:TopicPolicy", "alerts-policy", { arn: topicArn }).state.arn, topicArn);
    const targetArn = "arn:aws:sns:us-east-1:123456789012:alerts-dev";
    assert.equal(mockResourceState("aws:cloudwatch/eventTarget:EventTarget", "t", { arn: targetArn, rule: "r" }).state.arn, targetArn);
    assert.match(mockResourceState("aws:sns/topicSubscription:TopicSubscription", "sub", {}).state.arn, /^arn:aws:sns:/);
  });
});
