"""Finding what to optimize in AWS: the cluster and services tagged with an environment
suffix (when no stack outputs are given), and checking that named targets exist (exit 3
when they do not)."""

from __future__ import annotations

import logging
from typing import Dict, Iterable, List, Optional, Tuple

from ..core import facts
from ..core.errors import BadInput, TargetsNotFound
from .aws import AwsContext, chunks, paginate
from .targets import TIERS, ServiceTarget, Targets, pattern_alarms

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("ecs:DescribeClusters", "ecs:ListServices", "ecs:DescribeServices")

log = logging.getLogger(__name__)


#: DescribeServices: the most services one call takes (the API's limit).
DESCRIBE_SERVICES_BATCH = 10


def describe_services(ctx: AwsContext, cluster: str, names: List[str]) -> Tuple[Dict[str, dict], List[str]]:
    """DescribeServices ten at a time (its limit), with tags; returns (found by name, missing)."""
    found: Dict[str, dict] = {}
    missing: List[str] = []
    for batch in chunks(names, DESCRIBE_SERVICES_BATCH):
        resp = ctx.ecs.describe_services(cluster=cluster, services=batch, include=["TAGS"])
        for svc in resp.get("services", []):
            if svc.get("status") == "INACTIVE":
                missing.append(svc["serviceName"])
            else:
                found[svc["serviceName"]] = svc
        missing.extend(f["arn"].rsplit("/", 1)[-1] for f in resp.get("failures", []))
    return found, missing


def describe_cluster(ctx: AwsContext, cluster: str) -> dict:
    """The cluster with tags; a missing or inactive cluster means the targets are not there."""
    resp = ctx.ecs.describe_clusters(clusters=[cluster], include=["TAGS"])
    clusters = [c for c in resp.get("clusters", []) if c.get("status") != "INACTIVE"]
    if not clusters:
        raise TargetsNotFound(f"ECS cluster {cluster} not found in {ctx.region}")
    return clusters[0]


def tag_value(tags: Iterable[dict], key: str) -> Optional[str]:
    for tag in tags or []:
        if tag.get("key", tag.get("Key")) == key:
            return tag.get("value", tag.get("Value"))
    return None


def discover(ctx: AwsContext, suffix: str, tier_option: Optional[str]) -> Targets:
    """Find the fleet by the naming pattern: cluster ``ecs-cluster-{suffix}``, services ``*-{suffix}``."""
    if not suffix:
        raise BadInput("no targets: pass --outputs FILE or --stack NAME, or set ENVIRONMENT_SUFFIX")
    cluster_name = facts.cluster_name(suffix)
    cluster = describe_cluster(ctx, cluster_name)
    tag = facts.cluster_tier_tag()
    tier = tag_value(cluster.get("tags", []), tag) or tier_option or facts.default_tier()
    if tier not in TIERS:
        raise BadInput(f"cluster {cluster_name} tag {tag}={tier} is not one of {', '.join(TIERS)}")
    arns = list(paginate(ctx.ecs.list_services, "serviceArns", cluster=cluster_name))
    names = sorted(n for n in (a.rsplit("/", 1)[-1] for a in arns) if facts.catalog_name(n, suffix))
    if not names:
        pattern = facts.service_name("*", suffix)
        raise TargetsNotFound(f"no services named {pattern} in cluster {cluster_name}")
    found, _ = describe_services(ctx, cluster_name, names)
    services = {}
    for service_name, svc in sorted(found.items()):
        name = facts.catalog_name(service_name, suffix) or service_name
        services[name] = ServiceTarget(
            name=name,
            service_name=service_name,
            # No Critical tag: treated as critical (kept on-demand); only "false" opts out.
            critical=(tag_value(svc.get("tags", []), facts.critical_tag()) or "true").lower() != "false",
            scalable_target_resource_id=f"service/{cluster_name}/{service_name}",
            repository_name=facts.repository_name(name, suffix),
            alarms=pattern_alarms(name, suffix),
        )
    log.info("discovered %d services in %s (tier %s)", len(services), cluster_name, tier)
    return Targets(
        f"discovery ENVIRONMENT_SUFFIX={suffix}",
        suffix,
        tier,
        ctx.region,
        cluster_name,
        services,
        facts.task_stop_log_group(suffix),
    )


def verify_in_aws(ctx: AwsContext, targets: Targets) -> Tuple[dict, Dict[str, dict]]:
    """Check the cluster and every service exist; returns the cluster and the described
    services by catalog name."""
    cluster = describe_cluster(ctx, targets.cluster_name)
    by_service_name = {t.service_name: t.name for t in targets.services.values()}
    found, missing = describe_services(ctx, targets.cluster_name, list(by_service_name))
    if missing:
        raise TargetsNotFound(f"services not found in cluster {targets.cluster_name}: {', '.join(sorted(missing))}")
    return cluster, {by_service_name[name]: svc for name, svc in found.items()}
