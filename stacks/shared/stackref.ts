import * as pulumi from "@pulumi/pulumi";
import { CONTRACT_VERSIONS } from "./contracts";
import { LayerName } from "./tags";

/**
 * An error about an upstream stack whose message stays as written. The Pulumi runtime prefixes
 * `error serializing property "<name>": ` onto the message of an error that rejects a resource
 * input, in place; one error shared by every read of a stack would otherwise collect one prefix
 * per input it reached, none of which helps a user whose upstream stack is simply not deployed.
 */
export class UpstreamError extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, "message", { get: () => message, set: () => undefined, enumerable: false, configurable: false });
  }
}

/**
 * A typed, required read of another layer's outputs. Unlike `StackReference.getOutput` (which
 * returns `any` and silently yields undefined), every read checks that the upstream stack exports
 * the key and speaks the contract version this layer was built against, and fails naming the
 * stack and the key.
 */
export class LayerReference<T extends object> {
  private readonly ref: pulumi.StackReference;
  /**
   * The one error an undeployed or mismatched upstream raises, shared by every read of this
   * reference. The Pulumi runtime reports an error object once however many reads reject with it,
   * so a layer that reads ten outputs of an undeployed stack prints one message, not ten.
   */
  private versionError?: pulumi.RunError;

  constructor(
    readonly layer: LayerName,
    readonly stackName: string,
    opts?: pulumi.CustomResourceOptions,
  ) {
    this.ref = new pulumi.StackReference(`${layer}-stack`, { name: stackName }, opts);
  }

  get<K extends keyof T & string>(key: K): pulumi.Output<T[K]> {
    return this.ref.outputs.apply((outputs) => {
      this.checkVersion(outputs["contractVersion"]);
      if (!(key in outputs) || outputs[key] === undefined) throw this.missing(key);
      return outputs[key] as T[K];
    });
  }

  /**
   * The plain value of an upstream output, for reads that decide which resources this layer
   * declares (one alarm per upstream service, say). Resources must not be created inside an
   * `apply`: preview skips callbacks on unknown values, so the plan would not show them. A stack
   * reference is different: its outputs are read from the upstream stack's state at preview as at
   * update, so awaiting them here is deterministic. Secret outputs are refused, because a secret
   * that shaped names or resource counts would leak into the plan; read those with `get`.
   */
  async value<K extends keyof T & string>(key: K): Promise<T[K]> {
    const [version, details] = await Promise.all([this.ref.getOutputDetails("contractVersion"), this.ref.getOutputDetails(key)]);
    this.checkVersion(version.value ?? version.secretValue);
    if (details.secretValue !== undefined) {
      throw new Error(`stack ${this.stackName} (${this.layer} layer) exports '${key}' as a secret: read it with get(), not value()`);
    }
    if (details.value === undefined) throw this.missing(key);
    return details.value as T[K];
  }

  /** Throws the reference's one version error when the upstream is undeployed or speaks another contract version. */
  private checkVersion(version: unknown): void {
    const problem = this.versionProblem(version);
    if (problem === undefined) return;
    // RunError: the engine prints it without a stack trace, and (being one object) only once.
    this.versionError ??= new UpstreamError(problem);
    throw this.versionError;
  }

  private versionProblem(version: unknown): string | undefined {
    const expected = CONTRACT_VERSIONS[this.layer];
    if (version === undefined) {
      // A stack that exists but exports no contract version was never deployed, or was destroyed.
      return (
        `stack ${this.stackName} (${this.layer} layer) exports no contractVersion, so it was never deployed or was destroyed: ` +
        `deploy stacks/${this.layer} first (pulumi up in that stack)`
      );
    }
    if (version !== expected) {
      return (
        `stack ${this.stackName} (${this.layer} layer) exports contractVersion ${JSON.stringify(version)}; ` +
        `this layer reads version ${expected}: deploy matching versions of both layers`
      );
    }
    return undefined;
  }

  private missing(key: string): Error {
    return new pulumi.RunError(`stack ${this.stackName} (${this.layer} layer) does not export '${key}'`);
  }
}
