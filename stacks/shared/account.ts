/**
 * The AWS account a layer deploys into, and the key-policy statements every platform KMS key
 * starts from. Each layer reads the account through its own provider, so the answer is the
 * account and region the layer's resources are created in.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { KeyPolicyStatement } from "./iam";
import { Scope } from "./tags";

/** Account, partition and region every ARN a layer writes is built from. */
export interface AwsAccount {
  accountId: string;
  partition: string;
  region: string;
}

/** The ARN of `resource` of `service` in this account and region: `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export function accountArn(a: AwsAccount, service: string, resource: string): string {
  return `arn:${a.partition}:${service}:${a.region}:${a.accountId}:${resource}`;
}

/** The account itself as an IAM principal (`arn:<partition>:iam::<account>:root`): whatever its IAM policies allow. */
export function accountRootArn(a: Pick<AwsAccount, "partition" | "accountId">): string {
  return `arn:${a.partition}:iam::${a.accountId}:root`;
}

/** The account and partition of the scope's provider; the region is the one that provider is configured with. */
export function awsAccount(scope: Scope): pulumi.Output<AwsAccount> {
  const opts = { provider: scope.provider, parent: scope.component };
  return pulumi
    .all([aws.getCallerIdentityOutput({}, opts).accountId, aws.getPartitionOutput({}, opts).partition])
    .apply(([accountId, partition]) => ({ accountId, partition, region: scope.settings.region }));
}

/**
 * AWS's default key policy statement: the account administers the key through IAM, so IAM
 * policies in the account (the execution roles' kms:Decrypt grants, say) take effect. Without it
 * the key could not be managed, or its policy changed, once its creator's role is gone.
 */
export function accountAdministersKeyStatement(a: AwsAccount): KeyPolicyStatement {
  return {
    Sid: "AccountAdministersKeyThroughIam",
    Effect: "Allow",
    Principal: { AWS: accountRootArn(a) },
    Action: "kms:*",
    Resource: "*",
  };
}

/** What CloudWatch Logs does with the key to encrypt and read a log group (AWS's documented set). */
export const LOGS_KEY_ACTIONS: readonly string[] = [
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncryptFrom",
  "kms:ReEncryptTo",
  "kms:GenerateDataKey",
  "kms:GenerateDataKeyWithoutPlaintext",
  "kms:DescribeKey",
];

/**
 * CloudWatch Logs encrypts log groups with the key itself (not through a caller's IAM
 * permissions), so the key policy must name the regional service principal, limited by the
 * encryption context to the log groups `logGroupArnPattern` matches: one group's ARN
 * (ArnEquals), or a pattern with `*` / `?` (ArnLike).
 */
export function logsKeyStatement(a: AwsAccount, logGroupArnPattern: string, sid = "CloudWatchLogsEncryptsLogGroups"): KeyPolicyStatement {
  const operator = /[*?]/.test(logGroupArnPattern) ? "ArnLike" : "ArnEquals";
  return {
    Sid: sid,
    Effect: "Allow",
    Principal: { Service: `logs.${a.region}.amazonaws.com` },
    Action: [...LOGS_KEY_ACTIONS],
    Resource: "*",
    Condition: { [operator]: { "kms:EncryptionContext:aws:logs:arn": logGroupArnPattern } },
  };
}
