/**
 * The S3 bucket the ALB writes its access logs to: encrypted at rest (SSE-S3, the only encryption
 * ALB log delivery supports), public access blocked, owner-enforced objects, a policy that refuses
 * requests without TLS and lets only the region's log-delivery principal write under the ALB's
 * prefix, and a lifecycle rule that expires old logs. `forceDestroy` keeps the stack destroyable.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountRootArn, AwsAccount, Names } from "../shared";

/** Key prefix of the ALB's log objects (`<prefix>/AWSLogs/<account>/elasticloadbalancing/...`). */
export const ACCESS_LOG_PREFIX = "alb";

/**
 * The Elastic Load Balancing account that delivers access logs in regions opened before August
 * 2022 (AWS's published table). Newer regions deliver through the service principal instead.
 */
export const ELB_LOG_DELIVERY_ACCOUNTS: Readonly<Record<string, string>> = {
  "us-east-1": "127311923021",
  "us-east-2": "033677994240",
  "us-west-1": "027434742980",
  "us-west-2": "797873946194",
  "af-south-1": "098369216593",
  "ap-east-1": "754344448648",
  "ap-southeast-3": "589379963580",
  "ap-south-1": "718504428378",
  "ap-northeast-3": "383597477331",
  "ap-northeast-2": "600734575887",
  "ap-southeast-1": "114774131450",
  "ap-southeast-2": "783225319266",
  "ap-northeast-1": "582318560864",
  "ca-central-1": "985666609251",
  "eu-central-1": "054676820928",
  "eu-west-1": "156460612806",
  "eu-west-2": "652711504416",
  "eu-south-1": "635631232127",
  "eu-west-3": "009996457667",
  "eu-north-1": "897822967062",
  "me-south-1": "076674570225",
  "sa-east-1": "507241528517",
  "us-gov-west-1": "048591011584",
  "us-gov-east-1": "190560391635",
};

/** The principal ALB log delivery writes as in the account's region. */
export function logDeliveryPrincipal(a: AwsAccount): { AWS: string } | { Service: string } {
  const elbAccount = ELB_LOG_DELIVERY_ACCOUNTS[a.region];
  return elbAccount
    ? { AWS: accountRootArn({ partition: a.partition, accountId: elbAccount }) }
    : { Service: "logdelivery.elasticloadbalancing.amazonaws.com" };
}

/** The bucket policy: TLS only, and the log-delivery grant for exactly the ALB's log prefix. */
export function accessLogBucketPolicy(a: AwsAccount, bucket: string) {
  const bucketArn = `arn:${a.partition}:s3:::${bucket}`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyRequestsWithoutTls",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Sid: "ElbDeliversAccessLogs",
        Effect: "Allow",
        Principal: logDeliveryPrincipal(a),
        Action: "s3:PutObject",
        Resource: `${bucketArn}/${ACCESS_LOG_PREFIX}/AWSLogs/${a.accountId}/*`,
      },
    ],
  };
}

export interface AccessLogBucketArgs {
  account: pulumi.Output<AwsAccount>;
  /** Days a log object is kept before S3 deletes it. */
  retentionInDays: number;
  names: Names;
}

export class AccessLogBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  /** The ALB checks it may write when logging is turned on, so it must wait for this. */
  readonly policy: aws.s3.BucketPolicy;

  constructor(name: string, args: AccessLogBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:network:AccessLogBucket", name, {}, opts);
    const child = { parent: this };
    // Bucket names are global: the account id keeps two accounts' `dev` environments apart.
    const bucketName = args.account.apply((a) => args.names.of("alb-logs", a.accountId, 63));

    this.bucket = new aws.s3.Bucket("alb-logs", { bucket: bucketName, forceDestroy: true }, child);
    const bucket = this.bucket.bucket;
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      "alb-logs-public-access",
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      child,
    );
    new aws.s3.BucketOwnershipControls("alb-logs-ownership", { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      "alb-logs-encryption",
      { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      child,
    );
    new aws.s3.BucketLifecycleConfiguration(
      "alb-logs-expiry",
      {
        bucket,
        rules: [
          {
            id: "expire-access-logs",
            status: "Enabled",
            filter: { prefix: `${ACCESS_LOG_PREFIX}/` },
            expiration: { days: args.retentionInDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      child,
    );
    // Built from the name, not the bucket's ARN output, so the policy is known at preview.
    this.policy = new aws.s3.BucketPolicy(
      "alb-logs-policy",
      { bucket, policy: pulumi.all([args.account, bucketName]).apply(([a, b]) => JSON.stringify(accessLogBucketPolicy(a, b))) },
      // S3 refuses a bucket policy while the public access block is being applied.
      { parent: this, dependsOn: [publicAccess] },
    );
    this.registerOutputs({ bucketName: bucket });
  }
}
