/**
 * The one way a layer creates a KMS key: rotation on, an explicit key policy (never AWS's implicit
 * default), the shortest deletion window AWS allows, and an alias. Each layer passes the policy
 * that limits the key to its service.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountRootArn, AwsAccount } from "./account";
import { KeyPolicyDocument, KeyPolicyStatement } from "./iam";

/** The shortest window AWS allows, so a destroyed stack does not hold keys for a month. */
export const KEY_DELETION_WINDOW_DAYS = 7;

export interface PlatformKeyArgs {
  description: string;
  /** `alias/<aliasName>`. */
  aliasName: string;
  policy: pulumi.Input<KeyPolicyDocument>;
  deletionWindowInDays?: number;
}

/** A key `<logical>` and its alias `<logical>-alias`. */
export function platformKmsKey(logical: string, args: PlatformKeyArgs, opts: pulumi.CustomResourceOptions): aws.kms.Key {
  const key = new aws.kms.Key(
    logical,
    {
      description: args.description,
      enableKeyRotation: true,
      deletionWindowInDays: args.deletionWindowInDays ?? KEY_DELETION_WINDOW_DAYS,
      policy: pulumi.jsonStringify(args.policy),
    },
    opts,
  );
  new aws.kms.Alias(`${logical}-alias`, { name: `alias/${args.aliasName}`, targetKeyId: key.keyId }, opts);
  return key;
}

/** What a service does with a key on a caller's behalf (encrypt, decrypt, data keys, grants). */
export const SERVICE_USE_KEY_ACTIONS: readonly string[] = [
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncrypt*",
  "kms:GenerateDataKey*",
  "kms:DescribeKey",
  "kms:CreateGrant",
];

/**
 * Principals of this account may use the key only through `service` in the account's region
 * (`kms:ViaService`), the way AWS's own service-managed keys are limited.
 */
export function viaServiceKeyStatement(a: AwsAccount, service: string, sid: string): KeyPolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Principal: { AWS: accountRootArn(a) },
    Action: [...SERVICE_USE_KEY_ACTIONS],
    Resource: "*",
    Condition: { StringEquals: { "kms:ViaService": `${service}.${a.region}.amazonaws.com`, "kms:CallerAccount": a.accountId } },
  };
}
