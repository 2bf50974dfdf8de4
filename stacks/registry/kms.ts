/**
 * The registry key's policy: the account administers it through IAM, and its principals may use
 * it only through ECR in this region.
 */
import { accountAdministersKeyStatement, AwsAccount, KeyPolicyDocument, viaServiceKeyStatement } from "../shared";

export function ecrKeyPolicy(a: AwsAccount): KeyPolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [accountAdministersKeyStatement(a), viaServiceKeyStatement(a, "ecr", "EcrUsesKeyForThisAccountsRepositories")],
  };
}
