import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PlatformSettings } from "./config";
import { Names } from "./naming";
import { LayerName, REQUIRED_TAGS } from "./tag-keys";

export { CLUSTER_TIER_TAG, LAYERS, LayerName, REQUIRED_TAGS } from "./tag-keys";
export type TagSet = Record<(typeof REQUIRED_TAGS)[number], string>;

/** Layer-wide resources (VPC, ALB, cluster) belong to no one service. */
export const SHARED_SERVICE = "shared";

export function tagSet(settings: PlatformSettings, layer: LayerName, service: string = SHARED_SERVICE): TagSet {
  return {
    Environment: settings.environmentSuffix,
    Service: service,
    Team: settings.team,
    CostCenter: settings.costCenter,
    Layer: layer,
    ManagedBy: "pulumi",
  };
}

/**
 * Where a layer's resources live: a component that parents them and an AWS provider whose
 * `defaultTags` carry the tag set. Children inherit the provider from the component, so tags are
 * applied in one place and the AWS provider itself decides which resource types take tags.
 * A service gets a child scope whose provider adds its own `Service` tag.
 */
export class Scope {
  readonly component: pulumi.ComponentResource;
  readonly provider: aws.Provider;
  readonly tags: TagSet;

  private constructor(
    readonly settings: PlatformSettings,
    readonly layer: LayerName,
    readonly service: string,
    parent: pulumi.Resource | undefined,
  ) {
    this.tags = tagSet(settings, layer, service);
    const logical = service === SHARED_SERVICE ? layer : `${layer}-${service}`;
    this.provider = new aws.Provider(
      `${logical}-aws`,
      { region: settings.region as aws.Region, defaultTags: { tags: this.tags } },
      parent ? { parent } : {},
    );
    const type = service === SHARED_SERVICE ? `platform:layer:${layer}` : `platform:${layer}:Service`;
    this.component = new pulumi.ComponentResource(type, logical, {}, { parent, providers: { aws: this.provider } });
  }

  /** The root scope of a layer. */
  static forLayer(settings: PlatformSettings, layer: LayerName): Scope {
    return new Scope(settings, layer, SHARED_SERVICE, undefined);
  }

  /** A scope for one service's resources, tagged `Service=<service>`. */
  forService(service: string): Scope {
    return new Scope(this.settings, this.layer, service, this.component);
  }

  get names(): Names {
    return new Names(this.settings.environmentSuffix);
  }

  /** Resource options that place a resource in this scope (and so under its provider and tags). */
  opts(extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { parent: this.component, ...extra };
  }
}
