"""Reads and writes of the services' Application Auto Scaling targets and their target-tracking
policies (the autoscaling floor and ceiling the optimizer tunes)."""

from __future__ import annotations

from typing import Dict, List

from ..core import facts
from .aws import AwsContext, describe_in_batches, paginate

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = (
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:RegisterScalableTarget",
)

ECS_NAMESPACE = "ecs"
SCALABLE_DIMENSION = "ecs:service:DesiredCount"
#: DescribeScalableTargets: the most resource ids one call takes (the API's limit).
DESCRIBE_SCALABLE_TARGETS_BATCH = 50
#: DescribeScalingPolicies: the most policies one page holds (the API's limit). The call takes
#: one ResourceId at most, so the namespace is read whole, page by page.
DESCRIBE_SCALING_POLICIES_PAGE = 10


def describe_scalable_targets(ctx: AwsContext, resource_ids: List[str]) -> Dict[str, dict]:
    """Scalable targets by resource id, 50 ids per call (the API's limit)."""
    return describe_in_batches(
        ctx.autoscaling.describe_scalable_targets,
        "ScalableTargets",
        "ResourceId",
        "ResourceIds",
        resource_ids,
        DESCRIBE_SCALABLE_TARGETS_BATCH,
        ServiceNamespace=ECS_NAMESPACE,
        ScalableDimension=SCALABLE_DIMENSION,
    )


def set_scalable_target(ctx: AwsContext, resource_id: str, min_capacity: int, max_capacity: int) -> None:
    """RegisterScalableTarget on an existing target updates only min/max (the role, suspended
    state and policies are kept by AWS when omitted)."""
    ctx.autoscaling.register_scalable_target(
        ServiceNamespace=ECS_NAMESPACE,
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )


#: Predefined target-tracking metrics -> the alarm kind watching the same metric.
TRACKED_METRIC_KINDS = {
    "ECSServiceAverageCPUUtilization": facts.alarm_kind("cpuHigh"),
    "ECSServiceAverageMemoryUtilization": facts.alarm_kind("memoryHigh"),
}


def target_tracking_values(ctx: AwsContext) -> Dict[str, Dict[str, float]]:
    """Scalable-target resource id -> {alarm kind: target value} of every ECS target-tracking
    policy on a predefined CPU or memory metric (the namespace read page by page)."""
    found: Dict[str, Dict[str, float]] = {}
    for policy in paginate(
        ctx.autoscaling.describe_scaling_policies,
        "ScalingPolicies",
        token_in="NextToken",
        token_out="NextToken",
        ServiceNamespace=ECS_NAMESPACE,
        MaxResults=DESCRIBE_SCALING_POLICIES_PAGE,
    ):
        config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        kind = TRACKED_METRIC_KINDS.get(metric or "")
        if kind and config.get("TargetValue") is not None and policy.get("ScalableDimension") == SCALABLE_DIMENSION:
            found.setdefault(policy["ResourceId"], {})[kind] = float(config["TargetValue"])
    return found
