import * as assert from "node:assert/strict";
import { LifecyclePolicy } from "../stacks/registry/lifecycle";
import { DEFAULT_SERVICE_NAMES } from "../stacks/shared/catalog";
import { REQUIRED_TAGS } from "../stacks/shared/tags";
import { byName, LayerRun, ofType, runLayer } from "../scripts/plan/mock-engine";
import { formatViolations, policyViolations } from "./harness/policy";

const REPO = "aws:ecr/repository:Repository";
const LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy";
const PROVIDER = "pulumi:providers:aws";

function providerTags(run: LayerRun, name: string | undefined): Record<string, string> {
  assert.ok(name, "resource has no provider");
  return JSON.parse(byName(run, PROVIDER, name).inputs.defaultTags).tags;
}

function lifecycleOf(run: LayerRun, svc: string): LifecyclePolicy {
  return JSON.parse(byName(run, LIFECYCLE, `${svc}-lifecycle`).inputs.policy);
}

describe("registry layer", () => {
  let run: LayerRun;

  before(async () => {
    run = await runLayer("registry", { stack: "dev" });
  });

  it("creates one repository per default service, named {service}-{suffix}", () => {
    assert.deepEqual(
      ofType(run, REPO)
        .map((r) => r.inputs.name)
        .sort(),
      DEFAULT_SERVICE_NAMES.map((s) => `${s}-dev`).sort(),
    );
  });

  it("makes repositories immutable, scanned on push, KMS-encrypted with the layer key and force-deletable", () => {
    for (const svc of DEFAULT_SERVICE_NAMES) {
      const i = byName(run, REPO, `${svc}-repo`).inputs;
      assert.equal(i.imageTagMutability, "IMMUTABLE");
      assert.deepEqual(i.imageScanningConfiguration, { scanOnPush: true });
      assert.equal(i.forceDelete, true);
      assert.equal(i.encryptionConfigurations.length, 1);
      assert.equal(i.encryptionConfigurations[0].encryptionType, "KMS");
      assert.match(i.encryptionConfigurations[0].kmsKey, /^arn:aws:kms:us-east-1:\d{12}:key\//);
    }
    const key = byName(run, "aws:kms/key:Key", "ecr-key").inputs;
    assert.equal(key.enableKeyRotation, true);
    assert.equal(key.deletionWindowInDays, 7);
    assert.equal(byName(run, "aws:kms/alias:Alias", "ecr-key-alias").inputs.name, "alias/ecr-dev");
  });

  it("expires untagged images after 1 day (priority 1), then keeps the newest 10 of any tag (priority 2)", () => {
    for (const svc of DEFAULT_SERVICE_NAMES) {
      const policy = lifecycleOf(run, svc);
      assert.equal(byName(run, LIFECYCLE, `${svc}-lifecycle`).inputs.repository, `${svc}-dev`);
      assert.deepEqual(
        policy.rules.map((r) => [r.rulePriority, r.selection, r.action]),
        [
          [1, { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }, { type: "expire" }],
          [2, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, { type: "expire" }],
        ],
      );
      // ECR's rule: a tagStatus "any" rule must carry the highest priority number.
      const any = policy.rules.filter((r) => r.selection.tagStatus === "any");
      assert.equal(any.length, 1);
      assert.equal(any[0].rulePriority, Math.max(...policy.rules.map((r) => r.rulePriority)));
      assert.equal(new Set(policy.rules.map((r) => r.rulePriority)).size, policy.rules.length, "priorities are unique");
    }
  });

  it("passes every policy check", () => {
    const violations = policyViolations(run, "dev");
    assert.deepEqual(violations, [], formatViolations(violations));
  });

  it("tags every resource through the layer's providers, each repository with its own Service", () => {
    for (const r of run.resources.filter((x) => x.type.startsWith("aws:"))) {
      const tags = providerTags(run, r.provider);
      for (const k of REQUIRED_TAGS) assert.ok(tags[k], `${r.name}: ${k} missing`);
      assert.equal(tags.Layer, "registry");
      assert.equal(tags.Environment, "dev");
      assert.equal(tags.ManagedBy, "pulumi");
    }
    for (const svc of DEFAULT_SERVICE_NAMES) {
      assert.equal(providerTags(run, byName(run, REPO, `${svc}-repo`).provider).Service, svc);
      assert.equal(providerTags(run, byName(run, LIFECYCLE, `${svc}-lifecycle`).provider).Service, svc);
    }
    assert.equal(providerTags(run, byName(run, "aws:kms/key:Key", "ecr-key").provider).Service, "shared");
  });

  it("exports the registry contract with every repository", () => {
    assert.equal(run.exports.contractVersion, 1);
    assert.equal(run.exports.environmentSuffix, "dev");
    assert.deepEqual(Object.keys(run.exports.repositories).sort(), [...DEFAULT_SERVICE_NAMES].sort());
    assert.deepEqual(run.exports.repositories["api-gateway"], {
      name: "api-gateway-dev",
      url: "123456789012.dkr.ecr.us-east-1.amazonaws.com/api-gateway-dev",
      arn: "arn:aws:ecr:us-east-1:123456789012:repository/api-gateway-dev",
      keepImages: 10,
    });
  });

  it("consumes no other layer: opens no stack reference", () => {
    assert.deepEqual(run.stackReferences, []);
    assert.deepEqual(ofType(run, "pulumi:pulumi:StackReference"), []);
  });

  describe("with config", () => {
    let custom: LayerRun;

    before(async () => {
      custom = await runLayer("registry", {
        stack: "ci",
        config: { environmentSuffix: "pr42", services: ["billing", "search-api"], keepImages: 25 },
      });
    });

    it("follows the service list, the suffix and keepImages", () => {
      assert.deepEqual(
        ofType(custom, REPO).map((r) => r.inputs.name),
        ["billing-pr42", "search-api-pr42"],
      );
      assert.equal(lifecycleOf(custom, "billing").rules[1].selection.countNumber, 25);
      assert.equal(custom.exports.repositories["search-api"].keepImages, 25);
      const violations = policyViolations(custom, "pr42");
      assert.deepEqual(violations, [], formatViolations(violations));
    });
  });

  describe("rejects bad config, naming the key and what is allowed", () => {
    const rejects = (config: Record<string, unknown>, message: RegExp) => assert.rejects(runLayer("registry", { config }), message);

    it("a service name that is not DNS-safe", () =>
      rejects({ services: ["frontend", "Bad_Name"] }, /registry:services .*"Bad_Name".* lowercase letters, digits or hyphens/));

    it("a service listed twice", () => rejects({ services: ["api", "api"] }, /registry:services .*"api" is listed twice/));

    it("a services value that is not a list", () => rejects({ services: { a: 1 } }, /registry:services .*expected a list of strings/));

    it("keepImages 0 and 1001", async () => {
      await rejects({ keepImages: 0 }, /registry:keepImages = "0": expected a whole number from 1 to 1000/);
      await rejects({ keepImages: 1001 }, /registry:keepImages = "1001": expected a whole number from 1 to 1000/);
    });

    it("a tier typo", () => rejects({ tier: "production" }, /registry:tier = "production": allowed values are dev, prod/));
  });
});
