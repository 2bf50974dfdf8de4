/**
 * The alert topic: an SNS topic encrypted with its own KMS key, the policies that let CloudWatch
 * alarms and EventBridge publish to it, and optional email subscriptions.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  accountAdministersKeyStatement,
  AwsAccount,
  awsAccount,
  KeyPolicyDocument,
  platformKmsKey,
  PolicyDocument,
  Scope,
} from "../shared";

export interface AlertTopicArgs {
  /** Addresses subscribed by email (each must confirm by mail). Defaults to none. */
  emails?: readonly string[];
  /** Days KMS waits before deleting the key after destroy. Defaults to 7, the minimum. */
  keyDeletionWindowInDays?: number;
}

/** Who may publish to the topic besides the account's own IAM principals. */
export interface AlertPublishers {
  /** EventBridge rules (by ARN) whose targets include the topic. */
  eventRuleArns: pulumi.Input<string>[];
}

export interface AlertTopic {
  account: pulumi.Output<AwsAccount>;
  key: aws.kms.Key;
  topic: aws.sns.Topic;
  subscriptions: aws.sns.TopicSubscription[];
}

/**
 * The key policy. CloudWatch and EventBridge publish to an encrypted topic only if the key lets
 * their service principals generate data keys and decrypt (SNS "compatibility between event
 * sources from AWS services and encrypted topics"); without it notifications are dropped silently.
 */
export function alertKeyPolicy(a: AwsAccount): KeyPolicyDocument {
  const use = ["kms:GenerateDataKey*", "kms:Decrypt"];
  return {
    Version: "2012-10-17",
    Statement: [
      accountAdministersKeyStatement(a),
      {
        Sid: "CloudWatchAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: use,
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": a.accountId } },
      },
      {
        // No aws:SourceAccount / aws:SourceArn here: EventBridge does not send them on its KMS
        // calls to an encrypted topic, so such a condition would drop every event. The topic
        // policy below is where the rule is pinned.
        Sid: "EventBridgePublish",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: use,
        Resource: "*",
      },
    ],
  };
}

export function alertTopicPolicy(a: AwsAccount, topicArn: string, eventRuleArns: string[]): PolicyDocument {
  const statements: PolicyDocument["Statement"] = [
    {
      Sid: "CloudWatchAlarmsPublish",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topicArn,
      Condition: { StringEquals: { "aws:SourceAccount": a.accountId } },
    },
    {
      Sid: "DenyPublishWithoutTls",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "sns:Publish",
      Resource: topicArn,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ];
  if (eventRuleArns.length > 0) {
    statements.splice(1, 0, {
      Sid: "EventBridgeRulesPublish",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topicArn,
      Condition: { ArnEquals: { "aws:SourceArn": eventRuleArns } },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

export function alertTopic(scope: Scope, args: AlertTopicArgs = {}): AlertTopic {
  const names = scope.names;
  const a = awsAccount(scope);
  const key = platformKmsKey(
    "alerts-key",
    {
      description: `Encrypts the ${names.of("alerts")} alert topic`,
      aliasName: names.of("alerts"),
      policy: a.apply(alertKeyPolicy),
      deletionWindowInDays: args.keyDeletionWindowInDays,
    },
    scope.opts(),
  );
  const topic = new aws.sns.Topic("alerts", { name: names.of("alerts"), kmsMasterKeyId: key.arn }, scope.opts());
  const subscriptions = (args.emails ?? []).map(
    (email) =>
      new aws.sns.TopicSubscription(`alerts-email-${email}`, { topic: topic.arn, protocol: "email", endpoint: email }, scope.opts()),
  );
  return { account: a, key, topic, subscriptions };
}

/** The topic policy: CloudWatch alarms of this account, and exactly the given EventBridge rules. */
export function allowPublishers(scope: Scope, alerts: AlertTopic, publishers: AlertPublishers): aws.sns.TopicPolicy {
  const policy = pulumi
    .all([alerts.account, alerts.topic.arn, pulumi.all(publishers.eventRuleArns)])
    .apply(([a, arn, rules]) => JSON.stringify(alertTopicPolicy(a, arn, rules)));
  return new aws.sns.TopicPolicy("alerts-policy", { arn: alerts.topic.arn, policy }, scope.opts());
}
