"""Reads and writes of the individual resources the optimizer tunes.

Each writer changes exactly the field it is asked to and copies everything else from what AWS
returned, filtered through the operation's own input shape (botocore's service model), so a
field AWS adds to a task definition or an alarm next year is carried over too instead of being
silently dropped. Nothing here journals; the engine and the restorer do. This module holds
task definitions, services and ECR lifecycle policies; :mod:`scalable_targets` and
:mod:`metric_alarms` hold the autoscaling targets and the alarms.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from botocore.exceptions import ClientError

from ..core import facts
from ..core.fargate import X86_64
from . import revision_index
from .aws import AwsContext, error_code, paginate
from .revision_index import RevisionIndex, family_and_number

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = (
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecr:DescribeImages",
    "ecr:GetLifecyclePolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:DeleteLifecyclePolicy",
)

log = logging.getLogger(__name__)


def input_fields(client: Any, operation: str, described: Dict[str, Any]) -> Dict[str, Any]:
    """The keys of ``described`` that ``operation`` accepts (read-only fields drop out)."""
    members = client.meta.service_model.operation_model(operation).input_shape.members
    return {k: v for k, v in described.items() if k in members and v is not None}


# ----------------------------------------------------------------------------- task definitions


def describe_task_definition(ctx: AwsContext, arn: str) -> Tuple[dict, List[dict]]:
    resp = ctx.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return resp["taskDefinition"], resp.get("tags", [])


#: Tag on every revision the optimizer registers: the id of the run that registered it, so a
#: revision whose RegisterTaskDefinition response never arrived (a kill, a lost response the
#: SDK retried) is still found and retired.
RUN_TAG = "ecs-optimizer:run"


def register_revision(
    ctx: AwsContext,
    task_def: dict,
    tags: List[dict],
    cpu: int,
    memory: int,
    run_id: str,
    architecture: Optional[str] = None,
) -> str:
    """Register a new revision of ``task_def``'s family with only cpu and memory (and, when
    given, ``runtimePlatform.cpuArchitecture``) changed, and the run tag set."""
    params = input_fields(ctx.ecs.raw, "RegisterTaskDefinition", task_def)
    params.update(cpu=str(cpu), memory=str(memory))
    if architecture is not None:
        platform = dict(params.get("runtimePlatform") or {})
        if (platform.get("cpuArchitecture") or X86_64) != architecture:
            params["runtimePlatform"] = {
                **platform,
                "cpuArchitecture": architecture,
                "operatingSystemFamily": platform.get("operatingSystemFamily") or "LINUX",
            }
    params["tags"] = [t for t in tags if t.get("key") != RUN_TAG] + [{"key": RUN_TAG, "value": run_id}]
    family = str(params["family"])
    attempts = 0

    def register(**kwargs: Any) -> dict:
        nonlocal attempts
        attempts += 1
        return ctx.ecs.raw.register_task_definition(**kwargs)

    index = revision_index.of_run(ctx)
    try:
        resp = ctx.settings.backoff.call(register, **params)
    except Exception:
        if index is not None:
            index.registered(None, family, certain=False)  # it may have been applied all the same
        raise
    task_def = resp["taskDefinition"]
    # A call sent more than once (botocore's retries or the backoff's) may have registered more.
    retried = attempts > 1 or int(resp.get("ResponseMetadata", {}).get("RetryAttempts") or 0) > 0
    if index is not None:
        index.registered(
            task_def["taskDefinitionArn"], family, not retried, (task_def, resp.get("tags") or params["tags"])
        )
    return task_def["taskDefinitionArn"]


def _tag(tags: List[dict], key: str) -> Optional[str]:
    return next((t.get("value") for t in tags if t.get("key") == key), None)


@dataclass(frozen=True)
class RunRevision:
    arn: str
    run_id: str
    task_definition: dict


def optimizer_revisions(ctx: AwsContext, after_arn: str) -> List[RunRevision]:
    """ACTIVE revisions of ``after_arn``'s family numbered after it that an optimizer run
    registered. The family's ACTIVE revisions come from the run's revision index (outside a
    run, one ``ListTaskDefinitions`` of the family); only those newer than ``after_arn`` are
    described, each once per run."""
    family, number = family_and_number(after_arn)
    index = revision_index.of_run(ctx) or RevisionIndex(ctx, whole_account=False)
    found: List[RunRevision] = []
    for arn in index.newer(family, number):
        described = index.described(arn)
        if described is None:
            try:
                described = describe_task_definition(ctx, arn)
            except ClientError as exc:
                if error_code(exc) in ("ClientException", "ResourceNotFoundException"):
                    continue  # deleted since it was listed
                raise
            index.remember(arn, described)
        task_def, tags = described
        run_id = _tag(tags, RUN_TAG)
        if run_id and task_def.get("status") == "ACTIVE":
            found.append(RunRevision(task_def["taskDefinitionArn"], run_id, task_def))
    return found


#: What makes two revisions interchangeable for the optimizer: everything it copies.
_REVISION_CONTENT = (
    "cpu",
    "memory",
    "containerDefinitions",
    "runtimePlatform",
    "networkMode",
    "requiresCompatibilities",
    "taskRoleArn",
    "executionRoleArn",
    "volumes",
)


def same_content(a: dict, b: dict) -> bool:
    return all(a.get(k) == b.get(k) for k in _REVISION_CONTENT)


def containers_fit(task_def: dict, cpu: int, memory: int) -> Optional[str]:
    """Why the containers' own reservations do not fit a task of ``cpu``/``memory``, or None.

    The optimizer never edits container definitions (they are copied unchanged), so a
    container that reserves more than the smaller task offers makes the new size unusable.
    """
    containers = task_def.get("containerDefinitions", [])
    cpu_sum = sum(int(c.get("cpu") or 0) for c in containers)
    if cpu_sum > cpu:
        return f"its containers reserve {cpu_sum} CPU units, more than {cpu}"
    reserved = sum(int(c.get("memoryReservation") or c.get("memory") or 0) for c in containers)
    if reserved > memory:
        return f"its containers reserve {reserved} MiB, more than {memory} MiB"
    for c in containers:
        if int(c.get("memory") or 0) > memory:
            return f"container {c.get('name')} has a hard memory limit of {c['memory']} MiB, more than {memory} MiB"
    return None


def is_active(ctx: AwsContext, arn: str) -> bool:
    """Whether a revision exists and is ACTIVE (deregistered ones stay describable)."""
    try:
        task_def, _ = describe_task_definition(ctx, arn)
    except ClientError as exc:
        if error_code(exc) in ("ClientException", "ResourceNotFoundException"):
            return False
        raise
    return task_def.get("status") == "ACTIVE"


def deregister(ctx: AwsContext, arn: str) -> None:
    """Deregister; a retried call finding the revision already INACTIVE is success."""
    try:
        ctx.ecs.deregister_task_definition(taskDefinition=arn)
    except ClientError as exc:
        if error_code(exc) != "ClientException" or is_active(ctx, arn):
            raise
    index = revision_index.of_run(ctx)
    if index is not None:
        index.retired(arn)


# ----------------------------------------------------------------------------- services


def normalize_strategy(items: Optional[List[dict]]) -> Optional[List[dict]]:
    """A comparable capacity-provider strategy; None for launch type (no strategy)."""
    if not items:
        return None
    return sorted(
        (
            {
                "capacityProvider": i["capacityProvider"],
                "base": int(i.get("base", 0)),
                "weight": int(i.get("weight", 0)),
            }
            for i in items
        ),
        key=lambda i: i["capacityProvider"],
    )


def deployment_controller(service: dict) -> str:
    """A described service's deployment controller type (``ECS`` when it names none)."""
    return str((service.get("deploymentController") or {}).get("type", "ECS"))


def describe_service(ctx: AwsContext, cluster: str, service_name: str) -> dict:
    resp = ctx.ecs.describe_services(cluster=cluster, services=[service_name])
    services = resp.get("services", [])
    if not services:
        raise LookupError(f"service {service_name} not found in cluster {cluster}")
    return services[0]


def update_service(ctx: AwsContext, cluster: str, service_name: str, fields: Mapping[str, Any]) -> dict:
    """UpdateService with only ``fields`` (the request parameters the service-shaped levers
    contribute, see :mod:`levers.service_update`)."""
    return ctx.ecs.update_service(cluster=cluster, service=service_name, **fields)["service"]


@dataclass(frozen=True)
class Rollout:
    ok: bool
    reason: str


def rollout_status(service: dict, task_definition: str) -> Optional[Rollout]:
    """Outcome of the deployment of ``task_definition``, or None while it is still in progress.

    Success: the PRIMARY deployment runs ``task_definition`` and its rolloutState is COMPLETED
    (or, where ECS reports no rolloutState, it is the only deployment) with the service's
    running count at its desired count. Failure: any deployment of ``task_definition`` is
    FAILED (the circuit breaker may already have made an older revision PRIMARY again).
    """
    deployments = service.get("deployments", [])
    for d in deployments:
        if d.get("taskDefinition") == task_definition and d.get("rolloutState") == "FAILED":
            return Rollout(False, d.get("rolloutStateReason") or "deployment failed")
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None or primary.get("taskDefinition") != task_definition:
        return None
    steady = service.get("runningCount") == service.get("desiredCount")
    state = primary.get("rolloutState")
    if state == "COMPLETED" and steady:
        return Rollout(True, "deployment completed")
    if state is None and len(deployments) == 1 and steady:
        return Rollout(True, "service steady")
    return None


def deployment_state(service: dict, task_definition: str) -> str:
    """A short description of the deployment of ``task_definition`` for progress lines."""
    for d in service.get("deployments", []):
        if d.get("taskDefinition") == task_definition:
            return (
                f"{d.get('status', '?')} {d.get('rolloutState') or 'IN_PROGRESS'}, "
                f"{d.get('runningCount', 0)}/{d.get('desiredCount', 0)} running"
            )
    return "waiting for the deployment to start"


def wait_for_deployment(
    ctx: AwsContext,
    cluster: str,
    service_name: str,
    task_definition: str,
    timeout: float,
    poll: float,
    stop: Optional[Callable[[], bool]] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> Rollout:
    """Poll DescribeServices until the deployment completes, fails, ``timeout`` passes or
    ``stop`` says the run is stopping; ``progress`` hears the deployment state each poll."""
    deadline = time.monotonic() + timeout
    while True:
        service = describe_service(ctx, cluster, service_name)
        status = rollout_status(service, task_definition)
        if progress is not None:
            progress(status.reason if status is not None else deployment_state(service, task_definition))
        if status is not None:
            return status
        if stop is not None and stop():
            return Rollout(False, "stopped by a signal while deploying")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Rollout(False, f"deployment did not complete within {timeout:g}s")
        time.sleep(min(poll, remaining))


# ----------------------------------------------------------------------------- ECR


def read_lifecycle_policy(ctx: AwsContext, repository: str) -> Optional[str]:
    try:
        return ctx.ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
    except ClientError as exc:
        if error_code(exc) == "LifecyclePolicyNotFoundException":
            return None
        raise


def write_lifecycle_policy(ctx: AwsContext, repository: str, text: Optional[str]) -> None:
    """Put ``text``, or remove the policy when ``text`` is None (it had none before)."""
    if text is None:
        try:
            ctx.ecr.delete_lifecycle_policy(repositoryName=repository)
        except ClientError as exc:
            if error_code(exc) != "LifecyclePolicyNotFoundException":
                raise
        return
    ctx.ecr.put_lifecycle_policy(repositoryName=repository, lifecyclePolicyText=text)


def _keep_rule(rule: dict) -> bool:
    """Whether ``rule`` is a keep-last rule: the registry layer's, identified as the facts state it."""
    selection = rule.get("selection", {})
    identity = facts.lifecycle_keep_rule()
    return selection.get("tagStatus") == identity["tagStatus"] and selection.get("countType") == identity["countType"]


def keep_count(text: Optional[str]) -> Tuple[Optional[int], bool]:
    """(images kept, whether the optimizer may edit the policy).

    Editable: no policy at all (one is created), or a policy with exactly one "keep the last
    N images of any tag" rule, whose count is the only thing changed. Any other policy is
    someone's deliberate design and is left alone.
    """
    if text is None:
        return None, True
    try:
        rules = json.loads(text).get("rules", [])
    except (ValueError, AttributeError):
        return None, False
    keep = [r for r in rules if _keep_rule(r)]
    if len(keep) != 1:
        return None, False
    return int(keep[0]["selection"]["countNumber"]), True


def with_keep_count(text: Optional[str], keep: int) -> str:
    """The policy with its keep-last count set to ``keep``; the registry layer's policy if none."""
    if text is None:
        return json.dumps(facts.lifecycle_policy(keep), sort_keys=True)
    policy = json.loads(text)
    for rule in policy.get("rules", []):
        if _keep_rule(rule):
            rule["selection"]["countNumber"] = keep
    return json.dumps(policy, sort_keys=True)


#: DescribeImages: the most images one page holds (the API's limit).
DESCRIBE_IMAGES_PAGE = 1000


def image_sizes(ctx: AwsContext, repository: str) -> Tuple[int, ...]:
    """Image sizes in bytes, newest push first (what "keep the last N" keeps)."""
    images = list(
        paginate(ctx.ecr.describe_images, "imageDetails", repositoryName=repository, maxResults=DESCRIBE_IMAGES_PAGE)
    )
    images.sort(key=lambda i: i.get("imagePushedAt") or 0, reverse=True)
    return tuple(int(i.get("imageSizeInBytes") or 0) for i in images)
