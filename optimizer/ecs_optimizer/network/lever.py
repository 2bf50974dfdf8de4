"""The network lever, measured: NAT gateway traffic from CloudWatch, and the ordered migration.

The network layer's outputs say how many NAT gateways and endpoints exist; what they cost
also depends on how many bytes the NAT gateways process, which CloudWatch records per gateway
(``AWS/NATGateway``). Every byte a NAT gateway processes is one of:

* ``BytesInFromSource``: from the private subnets towards a destination, and
* ``BytesInFromDestination``: the answers coming back,

and NAT data processing is charged on both, so their sum over the lookback, scaled to a
730-hour month, is the processed volume priced here.

How much of it is bound for AWS services (ECR, S3, CloudWatch Logs, SSM, Secrets Manager),
which VPC endpoints would carry instead, is not in the NAT metrics. Where the network layer
exports its flow-log group (``flowLogGroupName``, with ``vpcCidr``), the share is measured from
the NAT gateways' flow-log records (see :mod:`nat_flow_split`). Where it does not, or the
group holds no NAT records, the optimizer counts :data:`ASSUMED_AWS_SHARE` of it as AWS-bound:
a deliberately low share for a Fargate fleet, whose NAT traffic is mostly image pulls, so the
saving is a floor; the report says which. ``--aws-traffic-gb`` overrides both.

The recommendation is an ordered migration, each step a network-layer config change with the
evidence to check before the next (see :func:`migration_plan`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core import facts
from ..core.errors import BadInput
from ..core.model import NetworkState
from ..live.aws import AwsContext, paginate
from ..live.metrics import PERIOD_SECONDS, window
from ..pricing.prices import HOURS_PER_MONTH
from .nat_flow_split import measure_split

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("ec2:DescribeNatGateways", "cloudwatch:GetMetricData")

log = logging.getLogger(__name__)

#: Share of NAT-processed bytes counted as AWS-bound when nothing better is known.
ASSUMED_AWS_SHARE = Fraction(1, 2)

#: The two NAT gateway metrics whose sum is the volume NAT data processing charges.
NAT_PROCESSED_METRICS = ("BytesInFromSource", "BytesInFromDestination")

#: Interface endpoints the fleet needs so image pulls, logs, secrets and parameters stop
#: flowing through NAT (S3, for image layers, is a free gateway endpoint).
REQUIRED_INTERFACE_ENDPOINTS = facts.interface_endpoint_defaults()

_BYTES_PER_GB = 1024**3


@dataclass(frozen=True)
class NatTraffic:
    """Bytes the NAT gateways processed over the lookback, as GB a month."""

    gateway_ids: Tuple[str, ...]
    processed_gb_month: Fraction
    aws_gb_month: Fraction
    hours_measured: int
    aws_share_source: str  # how the AWS-bound share was obtained

    @property
    def internet_gb_month(self) -> Fraction:
        return self.processed_gb_month - self.aws_gb_month


def nat_gateway_ids(ctx: AwsContext, outputs: Mapping[str, Any], where: str) -> Tuple[str, ...]:
    """The NAT gateways of the network layer's VPC: ``natGatewayIds`` from the outputs when
    present, else the available gateways EC2 lists in ``vpcId``."""
    listed = outputs.get("natGatewayIds")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(i, str) for i in listed):
            raise BadInput(f"{where}: natGatewayIds: expected a list of NAT gateway ids")
        return tuple(listed)
    vpc = outputs.get("vpcId")
    if not isinstance(vpc, str) or not vpc:
        raise BadInput(f"{where}: vpcId: expected the VPC id, to find its NAT gateways")
    gateways = paginate(
        ctx.ec2.describe_nat_gateways,
        "NatGateways",
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "state", "Values": ["available"]}],
    )
    return tuple(sorted(g["NatGatewayId"] for g in gateways))


def measure_nat_traffic(
    ctx: AwsContext,
    gateway_ids: Sequence[str],
    lookback_days: int,
    now: Optional[dt.datetime] = None,
    aws_share: Optional[Tuple[Fraction, str]] = None,
) -> NatTraffic:
    """Sum of :data:`NAT_PROCESSED_METRICS` per gateway over the lookback, scaled to a month.
    ``aws_share``: the measured AWS-bound share and how it was measured (default: the estimate)."""
    start, end = window(lookback_days, now)
    hours = int((end - start).total_seconds() // 3600)
    queries = []
    for i, gateway in enumerate(gateway_ids):
        for j, metric in enumerate(NAT_PROCESSED_METRICS):
            queries.append(
                {
                    "Id": f"nat{i}_{j}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/NATGateway",
                            "MetricName": metric,
                            "Dimensions": [{"Name": "NatGatewayId", "Value": gateway}],
                        },
                        "Period": PERIOD_SECONDS,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
            )
    total = Fraction(0)
    # 500 queries per call is far more than two per gateway ever needs; follow NextToken.
    kwargs: Dict[str, Any] = dict(MetricDataQueries=queries, StartTime=start, EndTime=end)
    while queries:
        page = ctx.cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            total += sum((Fraction(str(v)) for v in result.get("Values", [])), Fraction(0))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    processed = total / _BYTES_PER_GB * HOURS_PER_MONTH / hours if hours else Fraction(0)
    log.info(
        "NAT gateways %s processed %.1f GB a month (%d hours of AWS/NATGateway metrics)",
        ", ".join(gateway_ids) or "(none)",
        float(processed),
        hours,
    )
    share, source = aws_share or (ASSUMED_AWS_SHARE, estimate_source())
    return NatTraffic(
        gateway_ids=tuple(gateway_ids),
        processed_gb_month=processed,
        aws_gb_month=processed * share,
        hours_measured=hours,
        aws_share_source=source,
    )


def estimate_source(why: str = "") -> str:
    """How the report states the estimate (and why flow logs did not measure the share)."""
    reason = f"; {why}" if why else ""
    return (
        f"estimated: {float(ASSUMED_AWS_SHARE) * 100:.0f}% of the NAT-processed bytes counted as "
        f"AWS-bound (flow logs not used{reason}; pass --aws-traffic-gb with a measured figure)"
    )


def flow_log_share(
    ctx: AwsContext, outputs: Mapping[str, Any], where: str, gateways: Sequence[str], lookback_days: int
) -> Tuple[Fraction, str]:
    """The AWS-bound share measured from the flow-log group the outputs name, or the estimate
    with the reason it was not measured."""
    group, cidr = outputs.get("flowLogGroupName"), outputs.get("vpcCidr")
    if not isinstance(group, str) or not group:
        return ASSUMED_AWS_SHARE, estimate_source("the network outputs name no flowLogGroupName")
    if not isinstance(cidr, str) or not cidr:
        return ASSUMED_AWS_SHARE, estimate_source(f"{where} has no vpcCidr to tell the NAT legs apart")
    try:
        split, why = measure_split(ctx, group, cidr, gateways, lookback_days)
    except ValueError as exc:
        raise BadInput(f"{where}: vpcCidr: {exc}") from exc
    if split is None:
        return ASSUMED_AWS_SHARE, estimate_source(why)
    percent = float(split.aws_share) * 100
    return split.aws_share, (
        f"measured from the flow logs ({group}): {percent:.1f}% of {split.total_bytes:,} bytes on the NAT "
        f"gateways' outside legs went to AWS prefix lists (S3, DynamoDB) over {split.records} records; "
        "ECR API, logs, SSM and Secrets Manager have no prefix list and count as internet-bound, so this is a floor"
    )


# ----------------------------------------------------------------------------- migration


#: The migration's steps, in order: add endpoints, verify traffic uses them, shrink NAT.
STEP_ENDPOINTS, STEP_VERIFY, STEP_NAT = "endpoints", "verify", "natStrategy"
STEP_NAMES = (STEP_ENDPOINTS, STEP_VERIFY, STEP_NAT)


@dataclass(frozen=True)
class MigrationStep:
    """One step of the network migration: a network-layer config change, or a check.
    ``name`` (one of :data:`STEP_NAMES`) is what ``savings --migration-step`` takes: unlike
    ``order``, it does not change when an earlier step is done and drops out of the plan."""

    order: int
    name: str
    action: str
    config_key: Optional[str]
    before: Any
    after: Any
    verify: str

    def to_dict(self) -> Dict[str, Any]:
        return {
            "order": self.order,
            "step": self.name,
            "action": self.action,
            "configKey": self.config_key,
            "before": self.before,
            "after": self.after,
            "verify": self.verify,
        }


def migration_plan(
    nat_gateway_count: int,
    endpoints: Sequence[str],
    nat_after: int,
) -> List[MigrationStep]:
    """Endpoints first, then prove traffic uses them, then shrink NAT, in that order.

    ``endpoints`` are the interface endpoints configured today; ``nat_after`` the NAT
    gateways the recommended design keeps (0 removes NAT: ``natStrategy none``, which the
    network layer allows only once ecr.api, ecr.dkr, logs and s3 endpoints exist).
    """
    steps: List[MigrationStep] = []
    missing = [e for e in REQUIRED_INTERFACE_ENDPOINTS if e not in endpoints]
    wanted = sorted(set(endpoints) | set(REQUIRED_INTERFACE_ENDPOINTS))

    def add(name: str, action: str, key: Optional[str], before: Any, after: Any, verify: str) -> None:
        steps.append(
            MigrationStep(
                len(steps) + 1, name, f"{action}; savings --migration-step {name}", key, before, after, verify
            )
        )

    if missing:
        add(
            STEP_ENDPOINTS,
            f"add interface endpoints {', '.join(missing)} (pulumi up on the network layer)",
            facts.config_key("network", "interfaceEndpoints"),
            sorted(endpoints),
            wanted,
            "the network stack's vpcEndpoints output lists every one of them",
        )
    add(
        STEP_VERIFY,
        "verify that tasks pull images, write logs and read secrets through the endpoints",
        None,
        None,
        None,
        "savings --migration-step verify: AWS/PrivateLinkEndpoints BytesProcessed is above zero over "
        "the lookback for ecr.dkr (image pulls), logs (log events) and secretsmanager (secrets); "
        "also watch AWS/NATGateway BytesInFromSource fall and new tasks reach RUNNING",
    )
    strategy = {0: "none", 1: "single"}.get(nat_after, "perAz")
    today = {0: "none", 1: "single"}.get(nat_gateway_count, "perAz")
    if strategy != today:
        add(
            STEP_NAT,
            f"switch natStrategy from {today} to {strategy} (pulumi up on the network layer)",
            facts.config_key("network", "natStrategy"),
            today,
            strategy,
            f"the network stack's natGatewayCount output is {nat_after}; tasks still reach "
            "their internet destinations (no new 5xx or connection errors)",
        )
    return steps


def measured_network_state(
    ctx: AwsContext,
    network: NetworkState,
    outputs: Mapping[str, Any],
    where: str,
    lookback_days: int,
) -> NetworkState:
    """``network`` (from the network layer's outputs) with the traffic its NAT gateways
    processed over the lookback, split into AWS-bound and internet-bound."""
    if network.nat_gateway_count == 0:
        return network
    gateways = nat_gateway_ids(ctx, outputs, where)
    if len(gateways) != network.nat_gateway_count:
        log.warning(
            "%s: natGatewayCount is %d but %d NAT gateways were found; their traffic is what is priced",
            where,
            network.nat_gateway_count,
            len(gateways),
        )
    share = flow_log_share(ctx, outputs, where, gateways, lookback_days)
    traffic = measure_nat_traffic(ctx, gateways, lookback_days, aws_share=share)
    return replace(
        network,
        aws_traffic_gb_month=float(traffic.aws_gb_month),
        internet_traffic_gb_month=float(traffic.internet_gb_month),
        traffic_source=(
            f"measured: {float(traffic.processed_gb_month):,.1f} GB a month through "
            f"{len(traffic.gateway_ids)} NAT gateways over {traffic.hours_measured} hours; "
            f"AWS-bound share {traffic.aws_share_source}"
        ),
    )
