/**
 * The platform key: encrypts the services' log groups, SSM parameters and secrets. One key per
 * environment keeps the execution roles' decrypt grant to a single ARN.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  accountAdministersKeyStatement,
  accountArn,
  AwsAccount,
  KeyPolicyDocument,
  logsKeyStatement,
  platformKmsKey,
  Scope,
} from "../shared";

export function platformKeyPolicy(env: AwsAccount): KeyPolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      // Through the account's IAM the execution roles' grants (kms:Decrypt on this key) take effect.
      accountAdministersKeyStatement(env),
      // Limited to this account's log groups in the region.
      logsKeyStatement(env, accountArn(env, "logs", "log-group:*"), "CloudWatchLogsEncryptsThisAccountsLogGroups"),
    ],
  };
}

export function platformKey(scope: Scope, env: pulumi.Output<AwsAccount>): aws.kms.Key {
  return platformKmsKey(
    "platform-key",
    {
      description: `Encrypts the ${scope.settings.environmentSuffix} services' logs, parameters and secrets`,
      aliasName: scope.names.of("platform"),
      policy: env.apply(platformKeyPolicy),
    },
    scope.opts(),
  );
}
