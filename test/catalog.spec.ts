/**
 * The service catalog's pure functions: defaults, merging, validation messages, routing order.
 * No Pulumi program runs here; the compute spec checks what the layer builds from a catalog.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import {
  BASE_SERVICE,
  calleesOf,
  DEFAULT_IMAGE,
  DEFAULT_SERVICE_NAMES,
  forTier,
  loadCatalog,
  SERVICE_FIELDS,
  ServiceCatalog,
} from "../stacks/shared/catalog";
import { listenerRulePriorities, pathPatterns } from "../stacks/compute/rule-order";
import { ConfigError } from "../stacks/shared/errors";
import { REPO_ROOT } from "../scripts/plan/mock-engine";

/** The ConfigError a catalog raises, so a test can assert its message. */
function errorOf(raw: unknown): ConfigError {
  try {
    loadCatalog(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`catalog ${JSON.stringify(raw)} was accepted`);
}

describe("service catalog", () => {
  describe("defaults", () => {
    const catalog = loadCatalog(undefined);

    it("has frontend, api-gateway and processing-service, in that order", () => {
      assert.deepEqual(Object.keys(catalog), [...DEFAULT_SERVICE_NAMES]);
    });

    it("routes frontend at / and api-gateway at /api/*; processing-service is internal", () => {
      assert.equal(catalog.frontend.path, "/");
      assert.equal(catalog["api-gateway"].path, "/api/*");
      assert.equal(catalog["processing-service"].path, null);
    });

    it("marks frontend and api-gateway critical, processing-service not", () => {
      assert.equal(catalog.frontend.critical, true);
      assert.equal(catalog["api-gateway"].critical, true);
      assert.equal(catalog["processing-service"].critical, false);
    });

    it("sizes each service per tier", () => {
      const sizes = Object.fromEntries(Object.values(catalog).map((s) => [s.name, s.sizes]));
      assert.deepEqual(sizes, {
        frontend: { dev: { cpu: 512, memory: 1024 }, prod: { cpu: 512, memory: 1024 } },
        "api-gateway": { dev: { cpu: 512, memory: 1024 }, prod: { cpu: 1024, memory: 2048 } },
        "processing-service": { dev: { cpu: 1024, memory: 2048 }, prod: { cpu: 2048, memory: 4096 } },
      });
    });

    it("runs 3 tasks, scaling 2-6 in dev and 2-10 in prod", () => {
      for (const s of Object.values(catalog)) {
        assert.deepEqual(s.desiredCount, { dev: 3, prod: 3 });
        assert.deepEqual(s.minCapacity, { dev: 2, prod: 2 });
        assert.deepEqual(s.maxCapacity, { dev: 6, prod: 10 });
      }
    });

    it("lets api-gateway call processing-service and frontend call api-gateway", () => {
      assert.deepEqual(catalog.frontend.allowedFrom, []);
      assert.deepEqual(catalog["api-gateway"].allowedFrom, ["frontend"]);
      assert.deepEqual(catalog["processing-service"].allowedFrom, ["api-gateway"]);
      assert.deepEqual(
        calleesOf(catalog, "api-gateway").map((s) => s.name),
        ["processing-service"],
      );
      assert.deepEqual(calleesOf(catalog, "processing-service"), []);
    });

    it("runs the public nginx image until a team sets imageTag", () => {
      for (const s of Object.values(catalog)) {
        assert.equal(s.image, DEFAULT_IMAGE);
        assert.equal(s.image, "public.ecr.aws/nginx/nginx:stable");
        assert.equal(s.imageTag, null);
      }
    });

    it("defaults to x86_64, a read-only root filesystem, port 80, health check at / and the layer's blue/green", () => {
      for (const s of Object.values(catalog)) {
        assert.equal(s.architecture, "X86_64");
        assert.equal(s.readonlyRootFilesystem, true);
        assert.equal(s.port, 80);
        assert.equal(s.healthCheckPath, "/");
        assert.equal(s.blueGreen, null);
        assert.deepEqual(s.taskRolePolicies, []);
      }
    });

    it("gives api-gateway an API key and processing-service a database password as secrets", () => {
      assert.deepEqual(catalog.frontend.secrets, []);
      assert.deepEqual(catalog["api-gateway"].secrets, ["API_KEY"]);
      assert.deepEqual(catalog["processing-service"].secrets, ["DB_PASSWORD"]);
    });

    it("resolves a tier to plain numbers", () => {
      const prod = forTier(catalog["api-gateway"], "prod");
      assert.deepEqual([prod.cpu, prod.memory, prod.desiredCount, prod.minCapacity, prod.maxCapacity], [1024, 2048, 3, 2, 10]);
      const dev = forTier(catalog["processing-service"], "dev");
      assert.deepEqual([dev.cpu, dev.memory, dev.maxCapacity], [1024, 2048, 6]);
    });
  });

  describe("entries merged over the defaults", () => {
    it("overrides only the fields an entry sets", () => {
      const c = loadCatalog({ frontend: { port: 8080, sizes: { prod: { cpu: 1024, memory: 2048 } } } });
      assert.equal(c.frontend.port, 8080);
      assert.deepEqual(c.frontend.sizes, { dev: { cpu: 512, memory: 1024 }, prod: { cpu: 1024, memory: 2048 } });
      assert.equal(c.frontend.path, "/");
      assert.equal(c.frontend.critical, true);
    });

    it("takes a count as one number for every tier or per tier", () => {
      const c = loadCatalog({ frontend: { maxCapacity: 8 }, "api-gateway": { maxCapacity: { prod: 20 }, minCapacity: { dev: 1 } } });
      assert.deepEqual(c.frontend.maxCapacity, { dev: 8, prod: 8 });
      assert.deepEqual(c["api-gateway"].maxCapacity, { dev: 6, prod: 20 });
      assert.deepEqual(c["api-gateway"].minCapacity, { dev: 1, prod: 2 });
    });

    it("merges environment maps (null removes a setting) and replaces lists", () => {
      const c = loadCatalog({
        frontend: { environment: { FEATURE_X: true, PORT: 8080, LOG_LEVEL: null } },
        "api-gateway": { secrets: ["TOKEN"] },
      });
      assert.deepEqual(c.frontend.environment, { FEATURE_X: "true", PORT: "8080" });
      assert.deepEqual(c["api-gateway"].secrets, ["TOKEN"]);
    });

    it("adds a service over the base defaults and removes a default service given null", () => {
      const c = loadCatalog({
        reports: { path: "/reports/*", allowedFrom: ["api-gateway"] },
        frontend: null,
        "api-gateway": { allowedFrom: [] },
      });
      assert.deepEqual(Object.keys(c), ["api-gateway", "processing-service", "reports"]);
      assert.equal(c.reports.critical, false);
      assert.deepEqual(c.reports.sizes, BASE_SERVICE.sizes);
      assert.equal(c.reports.path, "/reports/*");
    });

    it("accepts task-role statements that name their actions and resources", () => {
      const c = loadCatalog({
        "processing-service": {
          taskRolePolicies: [{ sid: "ReadInput", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::input-dev/*"] }],
        },
      });
      assert.deepEqual(c["processing-service"].taskRolePolicies, [
        { sid: "ReadInput", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::input-dev/*"] },
      ]);
    });

    it("keeps rightsizedFrom per tier (null: never rightsized) and exports it as the tier's baseline", () => {
      const c = loadCatalog({ "processing-service": { rightsizedFrom: { prod: { cpu: 2048, memory: 4096 } } } });
      assert.deepEqual(c["processing-service"].rightsizedFrom, { dev: null, prod: { cpu: 2048, memory: 4096 } });
      assert.deepEqual(c.frontend.rightsizedFrom, { dev: null, prod: null });
      const prod = forTier(c["processing-service"], "prod");
      assert.deepEqual([prod.cpu, prod.memory, prod.baselineCpu, prod.baselineMemory], [2048, 4096, 2048, 4096]);
      const dev = forTier(c["processing-service"], "dev");
      assert.deepEqual([dev.baselineCpu, dev.baselineMemory], [dev.cpu, dev.memory]);
      assert.ok(!("rightsizedFrom" in prod));
    });

    it("does not let one catalog's edits leak into the defaults", () => {
      loadCatalog({ frontend: { environment: { EXTRA: "1" } } });
      assert.deepEqual(loadCatalog(undefined).frontend.environment, { LOG_LEVEL: "info" });
    });
  });

  describe("rejects bad entries, naming compute:services.<service>.<field>, the value and what is allowed", () => {
    it("an unknown key", () => {
      const e = errorOf({ frontend: { colour: "blue" } });
      assert.equal(e.key, "compute:services.frontend.colour");
      assert.match(e.message, /"blue": unknown key; allowed keys are port, healthCheckPath, path, critical/);
    });

    it("an invalid Fargate pair, listing the memories valid for the CPU", () => {
      const e = errorOf({ "api-gateway": { sizes: { prod: { cpu: 1024, memory: 1024 } } } });
      assert.equal(e.key, "compute:services.api-gateway.sizes.prod");
      assert.match(e.message, /memory 1024 MiB is not valid with cpu 1024 \(valid: 2048, 3072, 4096, 5120, 6144, 7168, 8192\)/);
    });

    it("a rightsizedFrom size that is not a valid Fargate pair", () => {
      const e = errorOf({ frontend: { rightsizedFrom: { prod: { cpu: 2048, memory: 1024 } } } });
      assert.equal(e.key, "compute:services.frontend.rightsizedFrom.prod");
      assert.match(e.message, /memory 1024 MiB is not valid with cpu 2048/);
      assert.match(errorOf({ frontend: { rightsizedFrom: { test: null } } }).message, /unknown key; allowed keys are dev, prod/);
      assert.equal(
        errorOf({ frontend: { rightsizedFrom: { dev: { cpu: 512 } } } }).key,
        "compute:services.frontend.rightsizedFrom.dev.memory",
      );
    });

    it("a CPU that is not a Fargate size", () => {
      assert.match(errorOf({ frontend: { sizes: { dev: { cpu: 300, memory: 1024 } } } }).message, /cpu 300 is not a Fargate CPU size/);
    });

    it("min above max", () => {
      const e = errorOf({ frontend: { minCapacity: 7 } });
      assert.equal(e.key, "compute:services.frontend.minCapacity");
      assert.match(e.message, /dev: minCapacity 7 is above maxCapacity 6/);
    });

    it("a desired count outside [min, max]", () => {
      const e = errorOf({ "processing-service": { desiredCount: { prod: 12 } } });
      assert.equal(e.key, "compute:services.processing-service.desiredCount");
      assert.match(e.message, /prod: desiredCount 12 is outside \[minCapacity 2, maxCapacity 10\]/);
    });

    it("a duplicate path (/ and /* are the same route)", () => {
      const e = errorOf({ "processing-service": { path: "/api/*" } });
      assert.equal(e.key, "compute:services.processing-service.path");
      assert.match(e.message, /api-gateway already serves this path/);
      assert.match(errorOf({ catchall: { path: "/*" } }).message, /frontend already serves this path/);
    });

    it("an unknown allowedFrom service, and a service allowing itself", () => {
      const e = errorOf({ frontend: { allowedFrom: ["billing"] } });
      assert.equal(e.key, "compute:services.frontend.allowedFrom[0]");
      assert.match(e.message, /"billing": unknown service; the catalog has frontend, api-gateway, processing-service/);
      assert.match(errorOf({ frontend: { allowedFrom: ["frontend"] } }).message, /does not need permission to call itself/);
    });

    it("an allowedFrom naming a removed default service", () => {
      assert.match(errorOf({ "api-gateway": null }).message, /processing-service\.allowedFrom\[0\] = "api-gateway": unknown service/);
    });

    it("a bad service name", () => {
      const e = errorOf({ Billing_Service: { path: "/billing/*" } });
      assert.equal(e.key, "compute:services.Billing_Service");
      assert.match(e.message, /service names are 2-32 lower-case letters/);
    });

    it("wildcard task-role actions, missing resources, and * on actions AWS can scope", () => {
      const wildcard = errorOf({ frontend: { taskRolePolicies: [{ actions: ["s3:*"], resources: ["arn:aws:s3:::b/*"] }] } });
      assert.equal(wildcard.key, "compute:services.frontend.taskRolePolicies[0].actions[0]");
      assert.match(wildcard.message, /wildcard actions are not allowed/);
      const none = errorOf({ frontend: { taskRolePolicies: [{ actions: ["s3:GetObject"], resources: [] }] } });
      assert.equal(none.key, "compute:services.frontend.taskRolePolicies[0].resources");
      const missing = errorOf({ frontend: { taskRolePolicies: [{ actions: ["s3:GetObject"] }] } });
      assert.equal(missing.key, "compute:services.frontend.taskRolePolicies[0].resources");
      const star = errorOf({ frontend: { taskRolePolicies: [{ actions: ["s3:GetObject"], resources: ["*"] }] } });
      assert.match(star.message, /"\*" only for actions AWS cannot scope; name the ARNs s3:GetObject applies to/);
    });

    it("blue/green on an internal service", () => {
      assert.match(errorOf({ "processing-service": { blueGreen: true } }).message, /internal service \(path null\) deploys rolling/);
    });

    it("a name that is both a setting and a secret", () => {
      assert.match(errorOf({ "api-gateway": { environment: { API_KEY: "x" } } }).message, /API_KEY is also an environment setting/);
    });

    it("wrong types, architectures and health-check timings", () => {
      assert.equal(errorOf({ frontend: { port: "80" } }).key, "compute:services.frontend.port");
      assert.match(errorOf({ frontend: { critical: "yes" } }).message, /expected true or false/);
      assert.match(errorOf({ frontend: { architecture: "arm" } }).message, /allowed values are X86_64, ARM64/);
      assert.match(errorOf({ frontend: { healthCheck: { timeoutSeconds: 30 } } }).message, /must be shorter than intervalSeconds \(30\)/);
      assert.match(errorOf({ frontend: { path: "api" } }).message, /expected an ALB path pattern/);
      assert.match(errorOf({ frontend: { environment: { "bad-name": "x" } } }).message, /setting names are/);
      assert.match(errorOf(["frontend"]).message, /expected a map of service name -> settings/);
    });
  });

  describe("routing", () => {
    it("routes / as the catch-all /*", () => {
      assert.deepEqual(pathPatterns({ path: "/" }), ["/*"]);
      assert.deepEqual(pathPatterns({ path: "/api/*" }), ["/api/*"]);
      assert.deepEqual(pathPatterns({ path: null }), []);
    });

    it("gives more specific paths lower (earlier) priorities and the catch-all the last", () => {
      const c: ServiceCatalog = loadCatalog({
        v2: { path: "/api/v2/*" },
        health: { path: "/healthz" },
      });
      const p = listenerRulePriorities(c);
      assert.deepEqual(p, { health: 100, v2: 110, "api-gateway": 120, frontend: 130 }, "internal services get no rule");
    });

    it("derives the same unique priorities whatever order the entries come in", () => {
      const a = listenerRulePriorities(loadCatalog({ xs: { path: "/x/*" }, ys: { path: "/y/*" } }));
      const b = listenerRulePriorities(loadCatalog({ ys: { path: "/y/*" }, xs: { path: "/x/*" } }));
      assert.deepEqual(a, b);
      assert.equal(new Set(Object.values(a)).size, Object.keys(a).length);
    });
  });
});

describe("catalog documentation", () => {
  it("docs/layers.md names every field a catalog entry may set", () => {
    const page = fs.readFileSync(path.join(REPO_ROOT, "docs", "layers.md"), "utf8");
    const paragraph = page.slice(page.indexOf("The fields are "), page.indexOf("A bad entry fails"));
    assert.ok(paragraph.length > 0, "docs/layers.md has no field list");
    for (const field of SERVICE_FIELDS) assert.ok(paragraph.includes(`\`${field}`), `docs/layers.md does not list ${field}`);
  });
});
