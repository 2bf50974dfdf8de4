/**
 * The platform key: encrypts the services' log groups, SSM parameters and secrets. One key per
 * environment keeps the execution roles' decrypt grant to a single ARN.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Scope } from "../shared";
import { AwsEnv } from "./iam";

/** Key policies are resource policies: principals, and `*` meaning "this key". */
export interface KeyPolicy {
  Version: "2012-10-17";
  Statement: Array<{
    Sid: string;
    Effect: "Allow";
    Principal: { AWS?: string; Service?: string };
    Action: string | string[];
    Resource: "*";
    Condition?: Record<string, unknown>;
  }>;
}

export function platformKeyPolicy(env: AwsEnv): KeyPolicy {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        // The AWS default: the account administers the key through IAM, so the execution roles'
        // IAM grants (kms:Decrypt on this key) take effect.
        Sid: "AccountAdministersThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:${env.partition}:iam::${env.accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        // CloudWatch Logs encrypts log groups with the key itself (not through a caller's IAM
        // permissions), so the key policy must name it, limited to this account's log groups.
        Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
        Effect: "Allow",
        Principal: { Service: `logs.${env.region}.amazonaws.com` },
        Action: [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:DescribeKey",
        ],
        Resource: "*",
        Condition: {
          ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${env.partition}:logs:${env.region}:${env.accountId}:log-group:*` },
        },
      },
    ],
  };
}

export function platformKey(scope: Scope, env: pulumi.Output<AwsEnv>): aws.kms.Key {
  const key = new aws.kms.Key(
    "platform-key",
    {
      description: `Encrypts the ${scope.settings.environmentSuffix} services' logs, parameters and secrets`,
      enableKeyRotation: true,
      // The shortest window AWS allows, so a destroyed environment does not hold keys for a month.
      deletionWindowInDays: 7,
      policy: pulumi.jsonStringify(env.apply(platformKeyPolicy)),
    },
    scope.opts(),
  );
  new aws.kms.Alias("platform-key-alias", { name: `alias/${scope.names.of("platform")}`, targetKeyId: key.keyId }, scope.opts());
  return key;
}
