/**
 * The platform's CrossGuard policy pack. Run it with
 *   pulumi preview --policy-pack <repo>/policy
 * from any layer's directory. The policies are built in ./pack.ts from the plain rules in
 * ./rules.ts, the same rules the mock harness runs in `make test`.
 */
import { PolicyPack } from "@pulumi/policy";
import { platformPolicies, POLICY_PACK_NAME } from "./pack";

new PolicyPack(POLICY_PACK_NAME, { policies: platformPolicies() });
