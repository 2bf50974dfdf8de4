/**
 * VPC flow logs (all traffic) for audit: a KMS-encrypted log group with retention, written by a
 * role that can do exactly that and nothing more.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  accountAdministersKeyStatement,
  accountArn,
  AwsAccount,
  KeyPolicyDocument,
  logsKeyStatement,
  Names,
  platformKmsKey,
  PolicyDocument,
  TrustPolicyDocument,
} from "../shared";

/** What the flow-logs service does with the log group; it never creates or lists groups. */
export const FLOW_LOG_WRITE_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"];

export interface FlowLogsArgs {
  vpcId: pulumi.Input<string>;
  /** Days the log group keeps events (dev 7, prod 30 by the layer's settings). */
  retentionInDays: number;
  /** The account (and region) the flow logs, their group and key live in. */
  account: pulumi.Output<AwsAccount>;
  names: Names;
}

export class FlowLogs extends pulumi.ComponentResource {
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly key: aws.kms.Key;
  readonly role: aws.iam.Role;
  readonly flowLog: aws.ec2.FlowLog;

  constructor(name: string, args: FlowLogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:network:FlowLogs", name, {}, opts);
    const { names, account } = args;
    const child = { parent: this };
    const logGroupName = `/aws/vpc/${names.of("flow-logs")}`;
    // Built from the name rather than read from the log group: the key policy must exist before
    // the group that is encrypted with it.
    const keyPolicy = account.apply((a): KeyPolicyDocument => ({
      Version: "2012-10-17",
      Statement: [
        accountAdministersKeyStatement(a),
        logsKeyStatement(a, accountArn(a, "logs", `log-group:${logGroupName}`), "CloudWatchLogsEncryptsFlowLogGroup"),
      ],
    }));

    this.key = platformKmsKey(
      "flow-logs-key",
      { description: `Encrypts the VPC flow log group ${logGroupName}`, aliasName: names.of("flow-logs"), policy: keyPolicy },
      child,
    );

    this.logGroup = new aws.cloudwatch.LogGroup(
      "flow-logs",
      { name: logGroupName, retentionInDays: args.retentionInDays, kmsKeyId: this.key.arn },
      child,
    );

    const trust = account.apply(({ partition, accountId, region }): TrustPolicyDocument => ({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "VpcFlowLogsDeliversForThisAccount",
          Effect: "Allow",
          Principal: { Service: "vpc-flow-logs.amazonaws.com" },
          Action: "sts:AssumeRole",
          // Confused-deputy guard: only flow logs of this account may use the role.
          Condition: {
            StringEquals: { "aws:SourceAccount": accountId },
            ArnLike: { "aws:SourceArn": `arn:${partition}:ec2:${region}:${accountId}:vpc-flow-log/*` },
          },
        },
      ],
    }));
    this.role = new aws.iam.Role(
      "flow-logs-role",
      {
        name: names.of("flow-logs-role", undefined, 64),
        description: "Delivers VPC flow logs to their log group",
        assumeRolePolicy: pulumi.jsonStringify(trust),
      },
      child,
    );
    const writePolicy = this.logGroup.arn.apply((groupArn): PolicyDocument => ({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WriteFlowLogGroupOnly",
          Effect: "Allow",
          Action: FLOW_LOG_WRITE_ACTIONS,
          // The group itself and, through `:*`, its streams (`...:log-stream:<name>`); IAM
          // evaluates some of these calls against `log-group:<name>:*`, hence both forms.
          Resource: [groupArn, `${groupArn}:*`],
        },
      ],
    }));
    const rolePolicy = new aws.iam.RolePolicy(
      "flow-logs-write",
      { name: names.of("flow-logs-write", undefined, 128), role: this.role.name, policy: pulumi.jsonStringify(writePolicy) },
      child,
    );

    this.flowLog = new aws.ec2.FlowLog(
      "vpc-flow-log",
      {
        vpcId: args.vpcId,
        trafficType: "ALL",
        logDestinationType: "cloud-watch-logs",
        logDestination: this.logGroup.arn,
        iamRoleArn: this.role.arn,
        tags: { Name: names.of("flow-log") },
      },
      // Delivery fails (and flow logs report an error) if the role cannot write yet.
      { parent: this, dependsOn: [rolePolicy] },
    );

    this.registerOutputs({ logGroupName: this.logGroup.name });
  }
}
