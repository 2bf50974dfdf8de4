"""Split the bytes NAT gateways process into AWS-bound and internet-bound, from VPC flow logs.

The network layer logs every flow of its VPC (default record format, version 2) to the
CloudWatch Logs group it exports as ``flowLogGroupName``, one log stream per network
interface. The records of a NAT gateway's own interface carry both legs of each connection:

* the inside leg, a task's private address <-> the gateway's private address, and
* the outside leg, the gateway's private address <-> the destination.

Only the outside leg is counted (the inside leg is the same bytes again): a record whose
``srcaddr`` or ``dstaddr`` lies outside the VPC's CIDR (``vpcCidr`` in the outputs) and is not
the gateway's own private address, accepted
(``ACCEPT``) and logged (``OK``). The address outside the VPC is the peer, and the record's
``bytes`` are AWS-bound when the peer lies in one of the region's AWS-managed prefix lists
(:data:`AWS_PREFIX_LIST_SERVICES`, read with EC2 ``DescribeManagedPrefixLists`` and
``GetManagedPrefixListEntries``), internet-bound otherwise.

What this can and cannot see. S3 has a managed prefix list, and ECR serves image layers from
S3, so the bulk of an image pull is classified as AWS-bound. The ECR API, CloudWatch Logs,
SSM and Secrets Manager publish no prefix list: their public addresses share AWS's general
ranges with other customers' internet services, so their bytes are counted as internet-bound
and stay on NAT in the pricing. The AWS-bound share is therefore a measured floor. The share
is applied to the volume CloudWatch measured (``AWS/NATGateway``), which stays the authority
on how many bytes were processed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

from botocore.exceptions import ClientError

from ..live.aws import AwsContext, error_code, paginate
from ..live.metrics import window

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = (
    "ec2:DescribeNatGateways",
    "ec2:DescribeManagedPrefixLists",
    "ec2:GetManagedPrefixListEntries",
    "logs:FilterLogEvents",
)

log = logging.getLogger(__name__)

#: Services whose AWS-managed prefix list (``com.amazonaws.<region>.<service>``) marks a
#: destination as AWS-bound. These are the only AWS services that publish one for a region.
AWS_PREFIX_LIST_SERVICES = ("s3", "dynamodb")

#: Fields of a version 2 flow-log record (the default format the network layer uses).
DEFAULT_FIELDS = (
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
)

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True, order=True)
class NatInterface:
    """A NAT gateway's network interface: its flow-log stream is named by its id."""

    gateway_id: str
    interface_id: str
    private_ip: str


@dataclass(frozen=True)
class FlowSplit:
    """Bytes of the NAT gateways' outside legs over the lookback, by kind of destination."""

    log_group: str
    aws_bytes: int
    internet_bytes: int
    records: int  # outside-leg records counted
    skipped: int  # records not in the default format, not accepted or not logged OK

    @property
    def total_bytes(self) -> int:
        return self.aws_bytes + self.internet_bytes

    @property
    def aws_share(self) -> Fraction:
        return Fraction(self.aws_bytes, self.total_bytes) if self.total_bytes else Fraction(0)


def nat_interfaces(ctx: AwsContext, gateway_ids: Sequence[str]) -> List[NatInterface]:
    """The network interfaces of ``gateway_ids`` (EC2 ``DescribeNatGateways``)."""
    if not gateway_ids:
        return []
    gateways = paginate(ctx.ec2.describe_nat_gateways, "NatGateways", NatGatewayIds=list(gateway_ids))
    return sorted(
        NatInterface(g["NatGatewayId"], a["NetworkInterfaceId"], a.get("PrivateIp", ""))
        for g in gateways
        for a in g.get("NatGatewayAddresses", [])
        if a.get("NetworkInterfaceId")
    )


def aws_prefixes(ctx: AwsContext) -> List[Network]:
    """The CIDRs of the region's AWS-managed prefix lists for :data:`AWS_PREFIX_LIST_SERVICES`."""
    names = [f"com.amazonaws.{ctx.region}.{service}" for service in AWS_PREFIX_LIST_SERVICES]
    lists = paginate(
        ctx.ec2.describe_managed_prefix_lists,
        "PrefixLists",
        "NextToken",
        "NextToken",
        Filters=[{"Name": "prefix-list-name", "Values": names}],
    )
    out: List[Network] = []
    for prefix_list in lists:
        if prefix_list.get("PrefixListName") not in names:
            continue
        entries = paginate(
            ctx.ec2.get_managed_prefix_list_entries,
            "Entries",
            "NextToken",
            "NextToken",
            PrefixListId=prefix_list["PrefixListId"],
        )
        out += [ipaddress.ip_network(e["Cidr"], strict=False) for e in entries]
    return out


def _inside(address: Any, networks: Iterable[Network]) -> bool:
    return any(address in n for n in networks)


def classify(
    messages: Iterable[str], interfaces: Sequence[NatInterface], vpc: Network, aws: Sequence[Network], log_group: str
) -> FlowSplit:
    """Sum the outside-leg bytes of the NAT interfaces' records by destination (pure). An
    address is inside when it is in the VPC's CIDR or is a NAT gateway's own private address
    (which a subnet of a secondary CIDR block may hold)."""
    wanted = {i.interface_id for i in interfaces}
    own = {ipaddress.ip_address(i.private_ip) for i in interfaces if i.private_ip}

    def inside(address: Any) -> bool:
        return address in own or address in vpc

    aws_bytes = internet_bytes = records = skipped = 0
    for message in messages:
        fields = message.split()
        if len(fields) != len(DEFAULT_FIELDS) or fields[0] != "2":
            skipped += 1
            continue
        record = dict(zip(DEFAULT_FIELDS, fields))
        if record["interface-id"] not in wanted:
            continue
        if record["action"] != "ACCEPT" or record["log-status"] != "OK" or not record["bytes"].isdigit():
            skipped += 1
            continue
        try:
            src, dst = ipaddress.ip_address(record["srcaddr"]), ipaddress.ip_address(record["dstaddr"])
        except ValueError:
            skipped += 1
            continue
        peer = dst if not inside(dst) else src if not inside(src) else None
        if peer is None:
            continue  # the inside leg: the same bytes as the outside leg
        records += 1
        if _inside(peer, aws):
            aws_bytes += int(record["bytes"])
        else:
            internet_bytes += int(record["bytes"])
    return FlowSplit(log_group, aws_bytes, internet_bytes, records, skipped)


def _messages(
    ctx: AwsContext, log_group: str, interfaces: Sequence[NatInterface], start: dt.datetime, end: dt.datetime
) -> Iterable[str]:
    """Every record of the interfaces' log streams over the window (one FilterLogEvents
    pagination per interface, by its stream-name prefix)."""
    for interface in interfaces:
        events = paginate(
            ctx.logs.filter_log_events,
            "events",
            logGroupName=log_group,
            logStreamNamePrefix=interface.interface_id,
            startTime=int(start.timestamp() * 1000),
            endTime=int(end.timestamp() * 1000),
        )
        for event in events:
            yield str(event.get("message", ""))


def measure_split(
    ctx: AwsContext,
    log_group: str,
    vpc_cidr: str,
    gateway_ids: Sequence[str],
    lookback_days: int,
    now: Optional[dt.datetime] = None,
) -> Tuple[Optional[FlowSplit], str]:
    """The flow-log split over the lookback, or (None, why not) when it cannot be measured:
    the group does not exist, or it holds no counted record of the NAT interfaces."""
    vpc = ipaddress.ip_network(vpc_cidr, strict=False)
    interfaces = nat_interfaces(ctx, gateway_ids)
    if not interfaces:
        return None, "the NAT gateways have no network interface to read flow logs of"
    start, end = window(lookback_days, now)
    try:
        split = classify(
            _messages(ctx, log_group, interfaces, start, end), interfaces, vpc, aws_prefixes(ctx), log_group
        )
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return None, f"the flow-log group {log_group} does not exist"
    if not split.total_bytes:
        return None, f"the flow-log group {log_group} holds no accepted NAT records over the lookback"
    log.info(
        "flow logs %s: %d NAT records, %d bytes AWS-bound, %d internet-bound (%d records skipped)",
        log_group,
        split.records,
        split.aws_bytes,
        split.internet_bytes,
        split.skipped,
    )
    return split, ""
