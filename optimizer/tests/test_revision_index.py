"""The search for the optimizer's own task-definition revisions: one paged listing per run,
kept current by the run's own writes; outside a run, one listing of the family asked about.
Also the emulator's page sizes, which the call counts depend on."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from botocore.exceptions import ClientError

from ecs_optimizer.live import resources as res
from ecs_optimizer.live import revision_index
from ecs_optimizer.live.aws import AwsContext, AwsSettings, open_context
from ecs_optimizer.live.revision_index import LIST_PAGE
from ecs_optimizer.live.scalable_targets import DESCRIBE_SCALING_POLICIES_PAGE

FAMILY = "orders-dev"
#: Enough other revisions that the account's listing takes two pages.
OTHERS = LIST_PAGE + 10


def _register(ctx: AwsContext, family: str, run_id: str = "") -> str:
    tags = [{"key": res.RUN_TAG, "value": run_id}] if run_id else []
    params: Dict[str, Any] = {
        "family": family,
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "app", "image": "app:1", "essential": True}],
    }
    if tags:
        params["tags"] = tags
    return ctx.ecs.register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"]


@pytest.fixture
def ctx(aws: None) -> AwsContext:
    return open_context(AwsSettings(region="us-east-1"))


def _calls(ctx: AwsContext, op: str) -> int:
    return ctx.recorder.counts[f"ecs:{op}"]


def test_a_run_lists_the_account_once_and_keeps_the_index_current(ctx):
    live = _register(ctx, FAMILY)
    interrupted = _register(ctx, FAMILY, run_id="earlier-run")
    _register(ctx, FAMILY)  # someone else's revision: no run tag
    for _ in range(OTHERS):
        _register(ctx, "other-dev")
    with revision_index.for_run(ctx) as index:
        found = res.optimizer_revisions(ctx, live)
        assert [(r.arn, r.run_id) for r in found] == [(interrupted, "earlier-run")]
        assert _calls(ctx, "ListTaskDefinitions") == 2  # OTHERS + 3 revisions, 100 a page
        assert _calls(ctx, "DescribeTaskDefinition") == 2  # only the two newer than the live one
        assert res.optimizer_revisions(ctx, live) == found  # asked again: no call at all
        assert _calls(ctx, "ListTaskDefinitions") == 2 and _calls(ctx, "DescribeTaskDefinition") == 2

        task_def, tags = res.describe_task_definition(ctx, live)
        mine = res.register_revision(ctx, task_def, tags, 512, 1024, "this-run")
        res.deregister(ctx, interrupted)
        described = _calls(ctx, "DescribeTaskDefinition")
        # a registration answered on its first attempt and a deregistration update the index
        assert [(r.arn, r.run_id) for r in res.optimizer_revisions(ctx, live)] == [(mine, "this-run")]
        assert _calls(ctx, "ListTaskDefinitions") == 2 and _calls(ctx, "DescribeTaskDefinition") == described

        # a registration that may have been applied more than once: the family is listed again
        duplicate = _register(ctx, FAMILY, run_id="this-run")
        index.registered(None, FAMILY, certain=False)
        assert [r.arn for r in res.optimizer_revisions(ctx, live)] == [mine, duplicate]
        assert _calls(ctx, "ListTaskDefinitions") == 3
    # outside a run each question lists its own family, afresh
    assert [r.arn for r in res.optimizer_revisions(ctx, live)] == [mine, duplicate]
    assert _calls(ctx, "ListTaskDefinitions") == 4


def test_a_failed_registration_makes_its_family_listed_again(ctx, monkeypatch):
    live = _register(ctx, FAMILY)
    task_def, tags = res.describe_task_definition(ctx, live)
    with revision_index.for_run(ctx):
        assert res.optimizer_revisions(ctx, live) == []
        real = ctx.ecs.raw.register_task_definition

        def applied_then_lost(**kwargs: Any) -> Any:
            real(**kwargs)  # applied, but the answer never arrives
            raise ClientError({"Error": {"Code": "RequestTimeout", "Message": "lost"}}, "RegisterTaskDefinition")

        monkeypatch.setattr(ctx.ecs.raw, "register_task_definition", applied_then_lost)
        with pytest.raises(ClientError):
            res.register_revision(ctx, task_def, tags, 512, 1024, "this-run")
        assert [r.run_id for r in res.optimizer_revisions(ctx, live)] == ["this-run"]


def test_the_emulator_pages_as_aws_documents(ctx):
    for _ in range(LIST_PAGE + 1):
        _register(ctx, FAMILY)
    first = ctx.ecs.list_task_definitions(familyPrefix=FAMILY, sort="DESC")
    assert len(first["taskDefinitionArns"]) == LIST_PAGE and first["nextToken"]
    assert first["taskDefinitionArns"][0].endswith(f":{LIST_PAGE + 1}")  # newest first
    rest = ctx.ecs.list_task_definitions(familyPrefix=FAMILY, sort="DESC", nextToken=first["nextToken"])
    assert rest["taskDefinitionArns"] == [f"{first['taskDefinitionArns'][0].rsplit(':', 1)[0]}:1"]
    assert "nextToken" not in rest
    with pytest.raises(ClientError, match="maxResults"):
        ctx.ecs.raw.list_task_definitions(maxResults=LIST_PAGE + 1)

    aas = ctx.autoscaling.raw
    ctx.ecs.create_cluster(clusterName="ecs-cluster-dev")
    ids: List[str] = []
    for n in range(DESCRIBE_SCALING_POLICIES_PAGE + 1):
        ctx.ecs.create_service(cluster="ecs-cluster-dev", serviceName=f"svc-{n}-dev", taskDefinition=FAMILY)
        ids.append(f"service/ecs-cluster-dev/svc-{n}-dev")
        aas.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=ids[-1],
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=1,
            MaxCapacity=2,
        )
        aas.put_scaling_policy(
            PolicyName=f"cpu-{n}",
            ServiceNamespace="ecs",
            ResourceId=ids[-1],
            ScalableDimension="ecs:service:DesiredCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            },
        )
    page = aas.describe_scaling_policies(ServiceNamespace="ecs")
    assert len(page["ScalingPolicies"]) == DESCRIBE_SCALING_POLICIES_PAGE and page["NextToken"]
    with pytest.raises(ClientError, match="maxResults"):
        aas.describe_scaling_policies(ServiceNamespace="ecs", MaxResults=DESCRIBE_SCALING_POLICIES_PAGE + 1)
