import * as pulumi from "@pulumi/pulumi";
import { CONTRACT_VERSIONS } from "./contracts";
import { LayerName } from "./tags";

/**
 * A typed, required read of another layer's outputs. Unlike `StackReference.getOutput` (which
 * returns `any` and silently yields undefined), every read checks that the upstream stack exports
 * the key and speaks the contract version this layer was built against, and fails naming the
 * stack and the key.
 */
export class LayerReference<T extends object> {
  private readonly ref: pulumi.StackReference;

  constructor(
    readonly layer: LayerName,
    readonly stackName: string,
    opts?: pulumi.CustomResourceOptions,
  ) {
    this.ref = new pulumi.StackReference(`${layer}-stack`, { name: stackName }, opts);
  }

  get<K extends keyof T & string>(key: K): pulumi.Output<T[K]> {
    const expected = CONTRACT_VERSIONS[this.layer];
    return this.ref.outputs.apply((outputs) => {
      const version = outputs["contractVersion"];
      if (version !== expected) {
        throw new Error(
          `stack ${this.stackName} (${this.layer} layer) exports contractVersion ${JSON.stringify(version)}; ` +
            `this layer reads version ${expected}: deploy matching versions of both layers`,
        );
      }
      if (!(key in outputs) || outputs[key] === undefined) {
        throw new Error(`stack ${this.stackName} (${this.layer} layer) does not export '${key}'`);
      }
      return outputs[key] as T[K];
    });
  }
}
