"""A local AWS emulator for the demo, the tests and the benchmarks, and the fleet it runs.

:class:`Emulator` runs :mod:`ecs_optimizer_lab.emulator_server` (moto's server plus the fidelity
fixes documented there) as a child process on 127.0.0.1 and a free port, waits until it
answers, and stops it when the ``with`` block ends, however it ends (an exception, Ctrl-C).
The child also exits on its own when this process dies, since it watches its stdin pipe.

:func:`seed_from_plan` creates in it the fleet the offline plan declares (see
:mod:`ecs_optimizer_lab.fleet`): cluster and capacity providers, task definitions, services,
ECR repositories with images and lifecycle policies, scalable targets and scaling policies,
and every metric alarm. :func:`seed_history` writes the CloudWatch utilization the
optimizer's metrics policy reads. Both work through any client factory too
(:func:`seed_fleet_through`, :func:`write_history`), which is how the tests seed moto
in-process. :func:`read_live_state` reads back what the optimizer tunes, straight from the
emulator's APIs, so a before/after comparison shows what AWS holds rather than what the
optimizer reported (:mod:`ecs_optimizer_lab.readback` is the tests' exhaustive form).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import boto3
from botocore.config import Config

from ecs_optimizer.core.model import CapacityStrategy
from ecs_optimizer.live import resources as res
from ecs_optimizer.live.aws import chunks
from ecs_optimizer.live.discovery import DESCRIBE_SERVICES_BATCH
from ecs_optimizer.live.scalable_targets import DESCRIBE_SCALABLE_TARGETS_BATCH
from ecs_optimizer.live.targets import pattern_alarms

from .fleet import FleetSpec, RepositorySpec, fleet_from_plan
from .synthetic import SyntheticImage, TraceSpec, generate_trace, history_start, repository_images

#: The emulator only ever listens on the loopback interface.
HOST = "127.0.0.1"

#: Credentials the emulator accepts; they never leave this machine.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

#: The seed of every generated image and trace unless a caller picks another.
DEFAULT_SEED = 20261101

#: PutMetricData takes at most 1,000 metric data items per call.
METRIC_DATA_PER_CALL = 1000

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def terminate(proc: "subprocess.Popen[Any]", grace: float = 5.0) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class EmulatorError(RuntimeError):
    """The emulator did not start, or stopped answering."""


# ----------------------------------------------------------------------------- the process


class Emulator:
    """The emulator process. Use as a context manager::

        with Emulator(region="us-east-1") as emu:
            ecs = emu.client("ecs")

    ``rollout_seconds`` is how long an ECS deployment takes to complete (0: at once).
    The server's own log (one line per request is silenced; errors remain) goes to
    ``log_path``, or a temporary file whose tail is shown if the server fails to start.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        rollout_seconds: float = 0.0,
        startup_timeout: float = 60.0,
        log_path: Optional[Path] = None,
    ) -> None:
        self.region = region
        self.rollout_seconds = rollout_seconds
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.endpoint: str = ""
        self._proc: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self._proc is not None:
            raise EmulatorError("the emulator is already running")
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "wb")
        else:
            self._log = tempfile.TemporaryFile()
        env = {**os.environ, **DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": self.region}
        cmd = [
            sys.executable,
            "-m",
            "ecs_optimizer_lab.emulator_server",
            "--host",
            HOST,
            "--port",
            "0",
            "--rollout-seconds",
            str(self.rollout_seconds),
        ]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env)
        try:
            self.endpoint = self._read_endpoint()
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _read_endpoint(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        line: List[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self.startup_timeout)
        text = line[0].decode().strip() if line else ""
        if not text.startswith("listening on "):
            raise EmulatorError(f"the emulator did not start within {self.startup_timeout:g}s: {self._log_tail()}")
        return text.split("listening on ", 1)[1]

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        client = self.client("ecs")
        while True:
            try:
                client.list_clusters()
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
                if not self.running or time.monotonic() > deadline:
                    raise EmulatorError(
                        f"the emulator at {self.endpoint} does not answer ({exc}): {self._log_tail()}"
                    ) from exc
                time.sleep(0.1)

    def _log_tail(self, limit: int = 2000) -> str:
        if self._log is None:
            return "no log"
        try:
            self._log.flush()
            if self.log_path is not None:
                data = self.log_path.read_bytes()
            else:
                self._log.seek(0)
                data = self._log.read()
        except (OSError, ValueError):
            return "log unreadable"
        return data.decode("utf-8", "replace")[-limit:].strip() or "the server wrote nothing"

    def stop(self) -> None:
        """Stop the server: close its stdin (it exits by itself), then terminate, then kill."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    terminate(proc)
            finally:
                if proc.stdout is not None:
                    proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- talking to it

    def client(self, service: str, max_pool_connections: int = 16) -> Any:
        return emulator_client(self.endpoint, self.region, service, max_pool_connections)

    def env(self) -> Dict[str, str]:
        """Environment for a process (the ``ecs-optimizer`` CLI) that should talk to the emulator."""
        return {
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def calls(self) -> Dict[str, int]:
        """API calls served since the last reset, by ``service:Operation``."""
        with urllib.request.urlopen(f"{self.endpoint}/_emulator/calls", timeout=10) as resp:
            return {str(k): int(v) for k, v in json.loads(resp.read()).items()}

    def reset_calls(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/_emulator/calls/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def emulator_client(endpoint: str, region: str, service: str, max_pool_connections: int = 16) -> Any:
    """A boto3 client for the emulator. Request compression is off because moto's server
    cannot read gzip-compressed PutMetricData bodies."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max_pool_connections,
        disable_request_compression=True,
    )
    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    ).client(service, endpoint_url=endpoint, config=config)


# ----------------------------------------------------------------------------- seeding


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


def _parallel(fn: Callable[[Any], Any], items: Sequence[Any], workers: int) -> List[Any]:
    """``fn`` over ``items`` on a pool; the first failure is raised once all have finished."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]


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
    progress: Progress = _quiet,
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

    report.task_definitions = dict(_parallel(register, fleet.task_definitions, concurrency))

    def create_service(request: Dict[str, Any]) -> str:
        return clients.ecs.create_service(**_service_request(request, ids, report.task_definitions))["service"][
            "serviceName"
        ]

    report.services = _parallel(create_service, fleet.services, concurrency)
    progress(f"{len(report.services)} services created; registering scalable targets and scaling policies")
    report.scalable_targets = _parallel(
        lambda t: (clients.aas.register_scalable_target(**t), t["ResourceId"])[1], fleet.scalable_targets, concurrency
    )
    report.scaling_policies = _parallel(
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
    for name, count, has_policy in _parallel(create_repository, fleet.repositories, concurrency):
        report.repositories[name] = count
        if has_policy:
            report.lifecycle_policies.append(name)
    report.alarms = _parallel(
        lambda a: (clients.cloudwatch.put_metric_alarm(**a), a["AlarmName"])[1], fleet.alarms, concurrency
    )
    progress(f"{len(report.alarms)} alarms created")
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
    progress: Progress = _quiet,
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


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True)
class HistoryReport:
    services: int
    hours: int
    datapoints: int  # metric data items written
    calls: int  # PutMetricData calls
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Reservation:
    """What a service's tasks reserve: task size and how many tasks run."""

    cpu: int  # CPU units per task
    memory: int  # MiB per task
    tasks: int


def fleet_reservations(fleet: FleetSpec) -> Dict[str, Reservation]:
    """ECS service name -> its reservation as the compute outputs declare it."""
    return {
        spec["serviceName"]: Reservation(int(spec["cpu"]), int(spec["memory"]), int(spec["desiredCount"]))
        for spec in fleet.compute_outputs.get("services", {}).values()
    }


def container_insights_enabled(fleet: FleetSpec) -> bool:
    return any(
        s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
        for s in fleet.cluster.get("settings", [])
    )


def metric_data(
    cluster: str, service_name: str, hours: Sequence[Any], reservation: Optional[Reservation] = None
) -> Iterator[Dict[str, Any]]:
    """PutMetricData items for one service, one of each metric per hour.

    ``AWS/ECS`` CPU and memory utilization go in as ``StatisticValues`` of the hour's
    five-minute samples: ECS publishes them every minute, and one aggregated item carries
    the same hourly Average and Maximum, which is all a 1-hour period query can see. With a
    ``reservation`` (Container Insights on), ``ECS/ContainerInsights`` ``CpuReserved``,
    ``MemoryReserved`` and ``RunningTaskCount`` are written too, as the service's totals.
    """
    dimensions = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service_name}]
    for hour in hours:
        for name, stats in (("CPUUtilization", hour.cpu), ("MemoryUtilization", hour.memory)):
            yield {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": hour.start,
                "StatisticValues": stats.statistic_values(),
                "Unit": "Percent",
            }
        if reservation is not None:
            for name, value, unit in (
                ("CpuReserved", reservation.cpu * reservation.tasks, "None"),
                ("MemoryReserved", reservation.memory * reservation.tasks, "Megabytes"),
                ("RunningTaskCount", reservation.tasks, "Count"),
            ):
                yield {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": hour.start,
                    "Value": float(value),
                    "Unit": unit,
                    "_namespace": "ECS/ContainerInsights",
                }


def seed_history(
    endpoint: str, region: str, cluster: str, traces: Mapping[str, TraceSpec], **options: Any
) -> HistoryReport:
    """Write the history to the emulator at ``endpoint``; ``options`` are
    :func:`write_history`'s (``days``, ``seed``, ``now``, ``reservations``, ``concurrency``,
    ``progress``)."""
    pool = max(16, int(options.get("concurrency", 8)) * 2)
    return write_history(emulator_client(endpoint, region, "cloudwatch", pool), cluster, traces, **options)


def write_history(
    client: Any,
    cluster: str,
    traces: Mapping[str, TraceSpec],
    days: int = 14,
    seed: int | str = DEFAULT_SEED,
    now: Optional[dt.datetime] = None,
    reservations: Optional[Mapping[str, Reservation]] = None,
    concurrency: int = 8,
    progress: Progress = _quiet,
) -> HistoryReport:
    """Write ``days`` of hourly utilization per service through the CloudWatch ``client``,
    ending at the last full hour.

    ``traces`` maps each ECS service name to the shape of its load. ``reservations`` (ECS
    service name -> what it reserved over those days) adds the Container Insights series,
    which the optimizer uses to read each hour against the reservation of that hour. The
    history ends at the last full hour before ``now``, where the optimizer's lookback
    window ends too, so it sees all of it.
    """
    start = history_start(days, now)
    by_namespace: Dict[str, List[Dict[str, Any]]] = {}
    hours = 0
    for service_name in sorted(traces):
        trace = generate_trace(traces[service_name], days, start, seed)
        hours = trace.hour_count
        reservation = (reservations or {}).get(service_name)
        for item in metric_data(cluster, service_name, trace.hours(), reservation):
            namespace = item.pop("_namespace", "AWS/ECS")
            by_namespace.setdefault(namespace, []).append(item)
    batches = [
        (namespace, batch)
        for namespace, items in sorted(by_namespace.items())
        for batch in chunks(items, METRIC_DATA_PER_CALL)
    ]
    total = sum(len(items) for items in by_namespace.values())
    done = [0, 0]
    lock = threading.Lock()

    def put(job: Tuple[str, List[Dict[str, Any]]]) -> None:
        namespace, batch = job
        client.put_metric_data(Namespace=namespace, MetricData=batch)
        with lock:
            done[0] += 1
            done[1] += len(batch)
            if done[0] % 20 == 0 or done[0] == len(batches):
                progress(f"history: {done[0]}/{len(batches)} PutMetricData calls, {done[1]}/{total} datapoints")

    _parallel(put, batches, concurrency)
    return HistoryReport(
        services=len(traces),
        hours=hours,
        datapoints=total,
        calls=len(batches),
        start=start,
        end=start + dt.timedelta(hours=hours),
    )


# ----------------------------------------------------------------------------- reading back


def strategy_text(items: Optional[List[Dict[str, Any]]]) -> str:
    """How a service's tasks are placed, in words: ``on-demand only``, or
    ``1 on-demand, then 70% Spot (FARGATE 3 : FARGATE_SPOT 7)``."""
    normalized = res.normalize_strategy(items)
    if not normalized:
        return "launch type (no capacity providers)"
    strategy = CapacityStrategy.from_aws(normalized)
    if not strategy.spot_weight:
        return "on-demand only"
    weights = " : ".join(f"{i['capacityProvider']} {i['weight']}" for i in normalized)
    base = f"{strategy.base} on-demand, then " if strategy.base else ""
    return f"{base}{strategy.spot_share:.0%} Spot ({weights})"


def read_live_state(
    endpoint: str,
    region: str,
    compute_outputs: Mapping[str, Any],
    observability_outputs: Optional[Mapping[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """What AWS holds for each service the compute outputs name, read with plain API calls.

    One row per service (sorted by catalog name): task definition revision, CPU/memory,
    desired and running count, capacity-provider strategy, autoscaling min/max, the ECR
    lifecycle policy's keep count and the image count, and each alarm's threshold.
    """
    ecs = emulator_client(endpoint, region, "ecs")
    ecr = emulator_client(endpoint, region, "ecr")
    aas = emulator_client(endpoint, region, "application-autoscaling")
    cloudwatch = emulator_client(endpoint, region, "cloudwatch")
    cluster = str(compute_outputs["clusterName"])
    suffix = str(compute_outputs["environmentSuffix"])
    specs = dict(sorted(compute_outputs["services"].items()))
    described: Dict[str, Dict[str, Any]] = {}
    for batch in chunks([s["serviceName"] for s in specs.values()], DESCRIBE_SERVICES_BATCH):
        for svc in ecs.describe_services(cluster=cluster, services=batch)["services"]:
            described[svc["serviceName"]] = svc
    targets: Dict[str, Dict[str, Any]] = {}
    for batch in chunks([s["scalableTargetResourceId"] for s in specs.values()], DESCRIBE_SCALABLE_TARGETS_BATCH):
        for t in aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=batch)["ScalableTargets"]:
            targets[t["ResourceId"]] = t
    alarm_names: Dict[str, Dict[str, str]] = {}
    for name in specs:
        declared = ((observability_outputs or {}).get("alarms") or {}).get(name)
        if declared:
            alarm_names[name] = {kind: ref["name"] for kind, ref in declared.items() if ref}
        else:
            alarm_names[name] = {a.kind: a.name for a in pattern_alarms(name, suffix)}
    thresholds: Dict[str, float] = {}
    for batch in chunks(sorted({n for kinds in alarm_names.values() for n in kinds.values()}), 100):
        for alarm in cloudwatch.describe_alarms(AlarmNames=batch, AlarmTypes=["MetricAlarm"])["MetricAlarms"]:
            thresholds[alarm["AlarmName"]] = float(alarm["Threshold"])
    rows = []
    for name, spec in specs.items():
        svc = described.get(spec["serviceName"], {})
        task_def = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"] if svc else {}
        target = targets.get(spec["scalableTargetResourceId"], {})
        try:
            policy = ecr.get_lifecycle_policy(repositoryName=spec["repositoryName"])["lifecyclePolicyText"]
        except ecr.exceptions.LifecyclePolicyNotFoundException:
            policy = None
        images = sum(
            len(page["imageIds"])
            for page in ecr.get_paginator("list_images").paginate(repositoryName=spec["repositoryName"])
        )
        strategy = svc.get("capacityProviderStrategy")
        rows.append(
            {
                "service": name,
                "serviceName": spec["serviceName"],
                "taskDefinition": str(svc.get("taskDefinition", "")).rsplit("/", 1)[-1],
                "revision": task_def.get("revision"),
                "cpu": int(task_def["cpu"]) if task_def.get("cpu") else None,
                "memory": int(task_def["memory"]) if task_def.get("memory") else None,
                "desiredCount": svc.get("desiredCount"),
                "runningCount": svc.get("runningCount"),
                "capacityProviderStrategy": res.normalize_strategy(strategy),
                "strategy": strategy_text(strategy),
                "minCapacity": target.get("MinCapacity"),
                "maxCapacity": target.get("MaxCapacity"),
                "keepImages": res.keep_count(policy)[0],
                "images": images,
                "alarms": {kind: thresholds.get(alarm) for kind, alarm in sorted(alarm_names[name].items())},
            }
        )
    return rows
