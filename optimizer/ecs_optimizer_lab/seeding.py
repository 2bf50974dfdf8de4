"""Seeding: creating in the emulator (or moto in-process) the fleet an offline plan declares.

:func:`seed_from_plan` creates the fleet ``build/plan`` declares (see
:mod:`ecs_optimizer_lab.fleet`): cluster and capacity providers, task definitions, services,
ECR repositories with images and lifecycle policies, scalable targets and scaling policies,
every metric alarm and the task-stop log group when the compute outputs name one, and writes each layer's outputs file. :func:`seed_fleet_through` does
the same through any client factory, which is how the tests seed moto in-process. The
utilization history is :mod:`ecs_optimizer_lab.history`'s job.
"""

from __future__ import annotations

import ipaddress
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .emulator import emulator_client
from .fleet import FleetSpec, RepositorySpec, fleet_from_plan
from .synthetic import DEFAULT_SEED, SyntheticImage, repository_images
from .workers import Progress, in_parallel, quiet


@dataclass
class SeedReport:
    """What seeding created, by kind, named as AWS names it."""

    cluster: str
    task_definitions: Dict[str, str] = field(default_factory=dict)  # family -> registered ARN
    services: List[str] = field(default_factory=list)
    repositories: Dict[str, int] = field(default_factory=dict)  # name -> images pushed
    lifecycle_policies: List[str] = field(default_factory=list)  # repository names
    scalable_targets: List[str] = field(default_factory=list)  # resource ids
    scaling_policies: List[str] = field(default_factory=list)
    alarms: List[str] = field(default_factory=list)
    log_groups: List[str] = field(default_factory=list)
    outputs: Dict[str, Path] = field(default_factory=dict)  # layer -> outputs file written
    fleet: Optional[FleetSpec] = None


#: A boto3 client by service name (``"ecs"``, ``"ecr"``, ...), for the emulator server or for
#: moto in-process.
ClientFactory = Callable[[str], Any]


class _Clients:
    def __init__(self, make: ClientFactory) -> None:
        self.ecs = make("ecs")
        self.ecr = make("ecr")
        self.aas = make("application-autoscaling")
        self.cloudwatch = make("cloudwatch")
        self.ec2 = make("ec2")
        self.logs = make("logs")


def _network_ids(clients: _Clients, fleet: FleetSpec) -> Dict[str, str]:
    """Create the VPC, subnets and security groups the services name; plan id -> emulator id.

    The emulator assigns its own ids, so the plan's (mock) ids are kept as the resources'
    Name tag and group name, and the services are created with the emulator's ids.
    """
    net = fleet.network
    if net is None:
        return {}
    vpc = clients.ec2.create_vpc(CidrBlock=net.vpc_cidr)["Vpc"]["VpcId"]
    network = ipaddress.ip_network(net.vpc_cidr)
    # /24s where the VPC allows, else as many equal blocks as there are subnets.
    needed = max(1, math.ceil(math.log2(max(2, len(net.subnet_ids)))))
    blocks = network.subnets(
        new_prefix=max(24, network.prefixlen + needed) if network.prefixlen < 24 else network.prefixlen + needed
    )
    mapping: Dict[str, str] = {}
    for i, (plan_id, block) in enumerate(zip(net.subnet_ids, blocks)):
        mapping[plan_id] = clients.ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=str(block),
            AvailabilityZone=net.availability_zones[i % len(net.availability_zones)],
            TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": plan_id}]}],
        )["Subnet"]["SubnetId"]
    for plan_id in net.security_group_ids:
        mapping[plan_id] = clients.ec2.create_security_group(
            GroupName=plan_id, Description=f"security group {plan_id} of the plan", VpcId=vpc
        )["GroupId"]
    return mapping


def _service_request(request: Dict[str, Any], ids: Mapping[str, str], task_defs: Mapping[str, str]) -> Dict[str, Any]:
    out = json.loads(json.dumps(request))
    awsvpc = (out.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc:
        for key in ("subnets", "securityGroups"):
            awsvpc[key] = [ids.get(i, i) for i in awsvpc.get(key, [])]
    family = str(out["taskDefinition"]).rsplit("/", 1)[-1].split(":", 1)[0]
    if family in task_defs:
        out["taskDefinition"] = task_defs[family]
    return out


def seed_fleet(fleet: FleetSpec, endpoint: str, **options: Any) -> SeedReport:
    """Create ``fleet`` in the emulator at ``endpoint``; ``options`` are
    :func:`seed_fleet_through`'s (``seed``, ``outputs_dir``, ``concurrency``, ``progress``)."""
    pool = max(16, int(options.get("concurrency", 8)) * 2)
    return seed_fleet_through(fleet, lambda service: emulator_client(endpoint, fleet.region, service, pool), **options)


def seed_fleet_through(
    fleet: FleetSpec,
    client: ClientFactory,
    seed: int | str = DEFAULT_SEED,
    outputs_dir: Optional[Path] = None,
    concurrency: int = 8,
    progress: Progress = quiet,
) -> SeedReport:
    """Create ``fleet`` through ``client`` (the emulator server's clients, or moto's
    in-process ones under ``mock_aws``); images are generated from ``seed``
    (:func:`fleet_images` lists them).

    With ``outputs_dir``, each layer's exports are written there as ``<layer>.json``, the
    files the optimizer takes as ``--outputs``, ``--observability-outputs`` and
    ``--network-outputs``.
    """
    clients = _Clients(client)
    report = SeedReport(cluster=fleet.cluster_name, fleet=fleet)
    clients.ecs.create_cluster(**fleet.cluster)
    if fleet.capacity_providers:
        clients.ecs.put_cluster_capacity_providers(**fleet.capacity_providers)
    ids = _network_ids(clients, fleet)
    progress(f"cluster {fleet.cluster_name} created; registering {len(fleet.task_definitions)} task definitions")

    def register(request: Dict[str, Any]) -> Tuple[str, str]:
        arn = clients.ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
        return request["family"], arn

    report.task_definitions = dict(in_parallel(register, fleet.task_definitions, concurrency))

    def create_service(request: Dict[str, Any]) -> str:
        return clients.ecs.create_service(**_service_request(request, ids, report.task_definitions))["service"][
            "serviceName"
        ]

    report.services = in_parallel(create_service, fleet.services, concurrency)
    progress(f"{len(report.services)} services created; registering scalable targets and scaling policies")
    report.scalable_targets = in_parallel(
        lambda t: (clients.aas.register_scalable_target(**t), t["ResourceId"])[1], fleet.scalable_targets, concurrency
    )
    report.scaling_policies = in_parallel(
        lambda p: (clients.aas.put_scaling_policy(**p), p["PolicyName"])[1], fleet.scaling_policies, concurrency
    )

    def create_repository(spec: Any) -> Tuple[str, int, bool]:
        clients.ecr.create_repository(**spec.create)
        if spec.lifecycle_policy is not None:
            clients.ecr.put_lifecycle_policy(repositoryName=spec.name, lifecyclePolicyText=spec.lifecycle_policy)
        images = fleet_images(spec, seed)
        for image in images:
            clients.ecr.put_image(
                repositoryName=spec.name,
                imageManifest=image.manifest(),
                imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json",
                imageTag=image.tag,
            )
        return spec.name, len(images), spec.lifecycle_policy is not None

    progress(f"pushing images to {len(fleet.repositories)} ECR repositories")
    for name, count, has_policy in in_parallel(create_repository, fleet.repositories, concurrency):
        report.repositories[name] = count
        if has_policy:
            report.lifecycle_policies.append(name)
    report.alarms = in_parallel(
        lambda a: (clients.cloudwatch.put_metric_alarm(**a), a["AlarmName"])[1], fleet.alarms, concurrency
    )
    progress(f"{len(report.alarms)} alarms created")
    for group in fleet.log_groups:
        clients.logs.create_log_group(**group)
        report.log_groups.append(group["logGroupName"])
    if outputs_dir is not None:
        report.outputs = write_outputs(fleet, outputs_dir)
    return report


def fleet_images(repository: RepositorySpec, seed: int | str = DEFAULT_SEED) -> List[SyntheticImage]:
    """The images seeding pushes to ``repository``, oldest first (tagged, with known sizes)."""
    return repository_images(repository.name, repository.image_count, seed)


def write_outputs(fleet: FleetSpec, outputs_dir: Path) -> Dict[str, Path]:
    """Each layer's exports as ``<outputs_dir>/<layer>.json`` (what ``pulumi stack output
    --json`` prints for a deployed stack)."""
    outputs_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for layer, data in (
        ("compute", fleet.compute_outputs),
        ("observability", fleet.observability_outputs),
        ("network", fleet.network_outputs),
        ("registry", fleet.registry_outputs),
    ):
        path = outputs_dir / f"{layer}.json"
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written[layer] = path
    return written


def seed_from_plan(
    plan_dir: Path | str,
    endpoint: str,
    seed: int | str = DEFAULT_SEED,
    outputs_dir: Optional[Path] = None,
    image_count: Optional[int] = None,
    concurrency: int = 8,
    progress: Progress = quiet,
) -> SeedReport:
    """Create in the emulator the fleet ``plan_dir`` (``build/plan``) declares; see :func:`seed_fleet`."""
    return seed_fleet(
        fleet_from_plan(plan_dir, image_count),
        endpoint,
        seed=seed,
        outputs_dir=outputs_dir,
        concurrency=concurrency,
        progress=progress,
    )
