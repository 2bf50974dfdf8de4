/**
 * Entry point of the stand-in `pulumi-resource-aws` plugin (see ./provider.ts): the engine starts
 * it, it serves the provider protocol until the engine is done with it.
 */
import * as provider from "@pulumi/pulumi/provider";
import { StandInAwsProvider } from "./provider";
import { awsPluginVersion } from "./plugin";

provider.main(new StandInAwsProvider(awsPluginVersion()), process.argv.slice(2)).catch((e: unknown) => {
  console.error(`stand-in aws provider: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
