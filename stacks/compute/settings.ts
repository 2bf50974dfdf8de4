/**
 * The compute layer's config, read and checked in one place. Every key is documented in
 * Pulumi.yaml; defaults live here (a default in Pulumi.yaml would be a second copy).
 */
import { byTier, ConfigError, LayerConfig, loadCatalog, ServiceCatalog, Tier } from "../shared";
import { MIN_SPOT_SHARE } from "./capacity";

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export interface ComputeSettings {
  catalog: ServiceCatalog;
  /** Fraction of a non-critical service's tasks (above its on-demand base) on Fargate Spot. Defaults to 0.7. */
  spotShare: number;
  /** Blue/green deployments for public services. Defaults to on for prod, off for dev. */
  blueGreen: boolean;
  /** Minutes blue and green run side by side after traffic shifts. Defaults to 10. */
  bakeTimeMinutes: number;
  /** Defaults to 7 days for dev, 30 for prod. */
  logRetentionDays: number;
  /** Seconds the scheduler ignores failing load-balancer health checks of a new task. Defaults to 300. */
  healthCheckGracePeriodSeconds: number;
  /** Autoscaling target for average CPU. Defaults to 70%. */
  cpuTargetPercent: number;
  /** Autoscaling target for average memory. Defaults to 75%. */
  memoryTargetPercent: number;
  /** Seconds between scale-in steps. Defaults to 300 (slow to give capacity back). */
  scaleInCooldownSeconds: number;
  /** Seconds between scale-out steps. Defaults to 60 (quick to add capacity). */
  scaleOutCooldownSeconds: number;
  networkStack: string;
  registryStack: string;
}

export function computeSettings(cfg: LayerConfig, tier: Tier): ComputeSettings {
  const retention = cfg.int("logRetentionDays", byTier(tier, { dev: 7, prod: 30 }), { min: 1, max: 3653 });
  if (!LOG_RETENTION_DAYS.includes(retention)) {
    throw new ConfigError(cfg.key("logRetentionDays"), retention, `CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(", ")}`);
  }
  return {
    catalog: loadCatalog(cfg.json<unknown>("services"), { key: cfg.key("services") }),
    // At least 70% Spot is the requirement for non-critical services; more is allowed.
    spotShare: cfg.number("spotShare", MIN_SPOT_SHARE, { min: MIN_SPOT_SHARE, max: 1 }),
    blueGreen: cfg.bool("blueGreen", tier === "prod"),
    bakeTimeMinutes: cfg.int("bakeTimeMinutes", 10, { min: 0, max: 1440 }),
    logRetentionDays: retention,
    healthCheckGracePeriodSeconds: cfg.int("healthCheckGracePeriodSeconds", 300, { min: 0, max: 7200 }),
    cpuTargetPercent: cfg.int("cpuTargetPercent", 70, { min: 10, max: 95 }),
    memoryTargetPercent: cfg.int("memoryTargetPercent", 75, { min: 10, max: 95 }),
    scaleInCooldownSeconds: cfg.int("scaleInCooldownSeconds", 300, { min: 0, max: 3600 }),
    scaleOutCooldownSeconds: cfg.int("scaleOutCooldownSeconds", 60, { min: 0, max: 3600 }),
    networkStack: cfg.stackReference("networkStack", "network"),
    registryStack: cfg.stackReference("registryStack", "registry"),
  };
}
