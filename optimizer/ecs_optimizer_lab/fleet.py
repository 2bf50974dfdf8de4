"""The AWS resources an offline plan declares, as the API requests that create them.

``npm run plan -- all`` writes ``build/plan/<layer>.json``: every resource a layer would create,
with its Pulumi inputs, and the layer's exports. :func:`fleet_from_plan` turns the resources
the optimizer works on (cluster, task definitions, services, scalable targets and scaling
policies from compute; repositories and lifecycle policies from registry; metric alarms from
observability) into the requests AWS itself takes, so that a local emulator can be given
exactly the fleet the stacks would deploy, nothing retyped.

Pulumi names inputs after the AWS API with a few exceptions; the conversion is driven by
botocore's model of each operation (:func:`api_params`), so every input must find its API
field or be listed as Pulumi-only, and a field the stacks add later fails here loudly
instead of being dropped. Provider ``defaultTags`` are merged into each resource's tags, as
the AWS provider does when it deploys.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import botocore.session

LAYERS = ("network", "registry", "compute", "observability")

T_CLUSTER = "aws:ecs/cluster:Cluster"
T_CAPACITY = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
T_TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition"
T_SERVICE = "aws:ecs/service:Service"
T_TARGET = "aws:appautoscaling/target:Target"
T_POLICY = "aws:appautoscaling/policy:Policy"
T_REPOSITORY = "aws:ecr/repository:Repository"
T_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
T_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
T_PROVIDER = "pulumi:providers:aws"

#: The compute export naming the log group of stopped-task events.
TASK_STOP_LOG_OUTPUT = "taskStopLogGroupName"

#: Inputs that steer the Pulumi provider and have no API field, per resource type.
PULUMI_ONLY: Dict[str, frozenset] = {
    T_TASK_DEF: frozenset({"skipDestroy", "trackLatest"}),
    T_SERVICE: frozenset({"forceDelete", "forceNewDeployment", "triggers", "waitForSteadyState"}),
    T_REPOSITORY: frozenset({"forceDelete"}),
}


class PlanError(ValueError):
    """The plan files are missing, malformed, or declare something the API cannot take."""


# ----------------------------------------------------------------------------- conversion

_MODELS = botocore.session.get_session()


def input_shape(service: str, operation: str) -> Any:
    return _MODELS.get_service_model(service).operation_model(operation).input_shape


def api_params(
    service: str,
    operation: str,
    inputs: Mapping[str, Any],
    where: str,
    renames: Optional[Mapping[str, str]] = None,
    ignore: Iterable[str] = (),
) -> Dict[str, Any]:
    """``inputs`` (Pulumi names) as the parameters of ``operation``.

    Names match the API's case-insensitively (``enableEcsManagedTags`` is
    ``enableECSManagedTags``, ``okActions`` is ``OKActions``), ``renames`` covers the rest at
    the top level, a map given where the API wants a list of pairs becomes that list
    (dimensions, tags, key-value properties), and scalars take the API's type. An input
    with no counterpart raises :class:`PlanError`; ``ignore`` lists the Pulumi-only ones.
    """
    skip = set(ignore)
    top = {k: v for k, v in inputs.items() if k not in skip}
    return _convert(input_shape(service, operation), top, f"{where} ({operation})", dict(renames or {}))


def _convert(shape: Any, value: Any, where: str, renames: Mapping[str, str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise PlanError(f"{where}: expected an object for {shape.name}, got {json.dumps(value)[:80]}")
        members = {name.lower(): name for name in shape.members}
        out: Dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            target = renames.get(key) or members.get(key.lower())
            if target is None:
                raise PlanError(f"{where}: input {key!r} has no API field (fields: {', '.join(shape.members)})")
            out[target] = _convert(shape.members[target], item, f"{where}.{key}", {})
        return out
    if kind == "list":
        member = shape.member
        if isinstance(value, Mapping) and member.type_name == "structure":
            return _pairs(member, value, where)
        if not isinstance(value, (list, tuple)):
            raise PlanError(f"{where}: expected a list, got {json.dumps(value)[:80]}")
        return [_convert(member, item, f"{where}[{i}]", {}) for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise PlanError(f"{where}: expected a map, got {json.dumps(value)[:80]}")
        return {str(k): _convert(shape.value, v, f"{where}.{k}", {}) for k, v in value.items()}
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("double", "float"):
        return float(value)
    if kind == "boolean":
        if isinstance(value, str):
            return value.lower() == "true"
        return bool(value)
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _pairs(member: Any, value: Mapping[str, Any], where: str) -> List[Dict[str, Any]]:
    """A Pulumi map as the API's list of two-field structures ({key, value}, {Name, Value})."""
    names = list(member.members)
    value_field = next((n for n in names if n.lower() == "value"), None)
    key_field = next((n for n in names if n != value_field), None)
    if len(names) != 2 or value_field is None or key_field is None:
        raise PlanError(f"{where}: a map cannot fill a list of {member.name}")
    return [
        {key_field: str(k), value_field: _convert(member.members[value_field], v, f"{where}.{k}", {})}
        for k, v in value.items()
    ]


# ----------------------------------------------------------------------------- plan files


@dataclass(frozen=True)
class PlannedResource:
    layer: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    provider: Optional[str]


@dataclass(frozen=True)
class Plan:
    """The four layer plans: resources and exports."""

    resources: Tuple[PlannedResource, ...]
    outputs: Mapping[str, Mapping[str, Any]]  # layer -> exports

    def of_type(self, type_: str) -> List[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def default_tags(self, resource: PlannedResource) -> Dict[str, str]:
        """The ``defaultTags`` of the provider the resource was created with."""
        if not resource.provider:
            return {}
        for candidate in self.resources:
            if (
                candidate.type == T_PROVIDER
                and candidate.name == resource.provider
                and candidate.layer == resource.layer
            ):
                raw = candidate.inputs.get("defaultTags")
                if isinstance(raw, str):
                    raw = json.loads(raw)
                return dict((raw or {}).get("tags") or {})
        return {}


def load_plan(plan_dir: Path | str) -> Plan:
    """Read ``<plan_dir>/<layer>.json`` for the four layers."""
    base = Path(plan_dir)
    resources: List[PlannedResource] = []
    outputs: Dict[str, Mapping[str, Any]] = {}
    for layer in LAYERS:
        path = base / f"{layer}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PlanError(f"{path}: not found; run `npm run plan -- all` first") from None
        except json.JSONDecodeError as exc:
            raise PlanError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if data.get("layer") != layer:
            raise PlanError(f"{path}: is the plan of layer {data.get('layer')!r}, expected {layer!r}")
        outputs[layer] = data.get("outputs") or {}
        for r in data.get("resources", []):
            resources.append(PlannedResource(layer, r["type"], r["name"], r.get("inputs") or {}, r.get("provider")))
    return Plan(tuple(resources), outputs)


# ----------------------------------------------------------------------------- the fleet


@dataclass(frozen=True)
class RepositorySpec:
    create: Dict[str, Any]  # CreateRepository
    lifecycle_policy: Optional[str]  # PutLifecyclePolicy text
    image_count: int

    @property
    def name(self) -> str:
        return str(self.create["repositoryName"])


@dataclass(frozen=True)
class NetworkSpec:
    """What ECS needs to accept the services' network configuration: their VPC, subnets and
    security groups. The emulator assigns its own ids; seeding maps the plan's ids to them."""

    vpc_cidr: str
    availability_zones: Tuple[str, ...]
    subnet_ids: Tuple[str, ...]
    security_group_ids: Tuple[str, ...]


@dataclass(frozen=True)
class FleetSpec:
    """Every request that creates the plan's fleet, in an order AWS accepts."""

    region: str
    cluster: Dict[str, Any]  # CreateCluster
    capacity_providers: Optional[Dict[str, Any]]  # PutClusterCapacityProviders
    network: Optional[NetworkSpec]
    task_definitions: Tuple[Dict[str, Any], ...]  # RegisterTaskDefinition
    services: Tuple[Dict[str, Any], ...]  # CreateService
    repositories: Tuple[RepositorySpec, ...]
    scalable_targets: Tuple[Dict[str, Any], ...]  # RegisterScalableTarget
    scaling_policies: Tuple[Dict[str, Any], ...]  # PutScalingPolicy
    alarms: Tuple[Dict[str, Any], ...]  # PutMetricAlarm
    log_groups: Tuple[Dict[str, Any], ...] = ()  # CreateLogGroup (the task-stop log)
    compute_outputs: Dict[str, Any] = field(default_factory=dict)
    observability_outputs: Dict[str, Any] = field(default_factory=dict)
    network_outputs: Dict[str, Any] = field(default_factory=dict)
    registry_outputs: Dict[str, Any] = field(default_factory=dict)

    @property
    def cluster_name(self) -> str:
        return str(self.cluster["clusterName"])

    @property
    def service_names(self) -> Dict[str, str]:
        """Catalog name -> ECS service name, from the compute outputs."""
        return {k: v["serviceName"] for k, v in self.compute_outputs.get("services", {}).items()}

    # -- what the compute outputs say, for tests and reports that name the fleet's parts

    @property
    def suffix(self) -> str:
        """The environment suffix every resource name ends with."""
        return str(self.compute_outputs["environmentSuffix"])

    @property
    def account(self) -> str:
        """The account the plan's ARNs name."""
        return str(self.compute_outputs["clusterArn"]).split(":")[4]

    @property
    def catalog(self) -> Tuple[str, ...]:
        """The catalog's service names, sorted (the order the optimizer reports them in)."""
        return tuple(sorted(self.compute_outputs.get("services", {})))

    def service(self, name: str) -> Mapping[str, Any]:
        """One catalog service's entry of the compute outputs (sizes, counts, names)."""
        return self.compute_outputs["services"][name]

    def exports(self, layer: str) -> Dict[str, Any]:
        """A deep copy of one layer's exports, safe to edit (``compute``, ``observability``,
        ``network`` or ``registry``)."""
        return copy.deepcopy(getattr(self, f"{layer}_outputs"))

    def task_definition(self, name: str) -> Dict[str, Any]:
        """The RegisterTaskDefinition request of a catalog service."""
        family = self.service(name)["taskDefinitionFamily"]
        return next(t for t in self.task_definitions if t["family"] == family)

    def service_request(self, name: str) -> Dict[str, Any]:
        """The CreateService request of a catalog service."""
        service_name = self.service(name)["serviceName"]
        return next(s for s in self.services if s["serviceName"] == service_name)

    def repository(self, name: str) -> RepositorySpec:
        """The ECR repository of a catalog service."""
        repository = self.service(name)["repositoryName"]
        return next(r for r in self.repositories if r.name == repository)

    def scaling_targets(self, name: str) -> Dict[str, float]:
        """A catalog service's target-tracking policies: predefined metric -> target value."""
        resource = self.service(name)["scalableTargetResourceId"]
        return {
            p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
                "PredefinedMetricType"
            ]: float(p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
            for p in self.scaling_policies
            if p["ResourceId"] == resource and p.get("PolicyType") == "TargetTrackingScaling"
        }

    def alarm(self, alarm_name: str) -> Dict[str, Any]:
        """The PutMetricAlarm request of one alarm, by name."""
        return next(a for a in self.alarms if a["AlarmName"] == alarm_name)

    def service_alarms(self, name: str) -> Dict[str, Dict[str, Any]]:
        """A catalog service's alarms as the observability outputs declare them: kind
        (``cpuHigh``, ``memoryHigh``, ...) -> PutMetricAlarm request."""
        declared = self.observability_outputs.get("alarms", {}).get(name, {})
        return {kind: self.alarm(ref["name"]) for kind, ref in declared.items() if ref}

    def on_demand(self) -> "FleetSpec":
        """This fleet before any Spot share: every service placed by the cluster's default
        capacity-provider strategy (on demand), as services created outside the compute layer,
        or deployed before it placed non-critical services on Spot, are. The plan itself runs
        its non-critical services on Spot already; this is the case the optimizer's Spot lever
        changes."""
        default = list((self.capacity_providers or {}).get("defaultCapacityProviderStrategy") or [])
        if not default:
            raise PlanError("the plan declares no default capacity-provider strategy to place services by")
        services = tuple({**s, "capacityProviderStrategy": copy.deepcopy(default)} for s in self.services)
        return replace(self, services=services)

    def with_task_stop_log(self) -> "FleetSpec":
        """This fleet with the compute layer's task-stop log: the ``taskStopLogGroupName``
        export (``/aws/events/ecs-task-stops-{suffix}``) and the log group it names, where an
        EventBridge rule writes the cluster's ECS "Task State Change" events of stopped tasks
        (:mod:`ecs_optimizer_lab.task_stops` writes them in the lab). A plan whose compute
        layer exports the group already has it; a plan from before it is an older compute
        stack, the case of sizing without OOM evidence."""
        name = self.compute_outputs.get(TASK_STOP_LOG_OUTPUT) or f"/aws/events/ecs-task-stops-{self.suffix}"
        log_groups = self.log_groups
        if not any(g["logGroupName"] == name for g in log_groups):
            log_groups += ({"logGroupName": name},)
        return replace(
            self, log_groups=log_groups, compute_outputs={**self.compute_outputs, TASK_STOP_LOG_OUTPUT: name}
        )

    def with_deployment_alarms(self, rollback: bool = True) -> "FleetSpec":
        """This fleet with every service's deployments watched by CloudWatch alarms
        (``deploymentConfiguration.alarms``, enabled, ``rollback`` as given): a service behind
        a target group by its 5xx and unhealthy-hosts alarms, an internal one by its
        running-tasks-low alarm, as the observability outputs name them. The case of a
        platform whose deployments roll back on alarm; a plan that declares deployment alarms
        already has them."""
        alarm_outputs = self.observability_outputs.get("alarms", {})
        by_service = {spec["serviceName"]: name for name, spec in self.compute_outputs["services"].items()}
        services = []
        for request in self.services:
            kinds = alarm_outputs.get(by_service.get(request["serviceName"], ""), {})
            watched = [kinds[k]["name"] for k in ("http5xx", "unhealthyHosts") if kinds.get(k)] or [
                kinds[k]["name"] for k in ("runningTasksLow",) if kinds.get(k)
            ]
            if not watched:
                raise PlanError(f"{request['serviceName']}: the observability outputs name no alarm to watch it by")
            config = dict(request.get("deploymentConfiguration") or {})
            config["alarms"] = {"alarmNames": watched, "enable": True, "rollback": rollback}
            services.append({**request, "deploymentConfiguration": config})
        return replace(self, services=tuple(services))

    def without_target_tracking(self) -> "FleetSpec":
        """This fleet with no target-tracking scaling policy (each scalable target kept): services
        whose count is set by hand or by step scaling. Their cpu-high and memory-high alarms
        follow the task size (the same absolute spare capacity) instead of a tracked target."""
        policies = tuple(p for p in self.scaling_policies if p.get("PolicyType") != "TargetTrackingScaling")
        return replace(self, scaling_policies=policies)

    def deployment_alarm_names(self, name: str) -> List[str]:
        """The alarms a catalog service's deployments are watched by (none when not watched)."""
        config = self.service_request(name).get("deploymentConfiguration") or {}
        alarms = config.get("alarms") or {}
        return list(alarms.get("alarmNames") or []) if alarms.get("enable") else []

    @property
    def task_stop_log_group(self) -> Optional[str]:
        """The task-stop log group the compute outputs name, or None (an older compute stack)."""
        name = self.compute_outputs.get(TASK_STOP_LOG_OUTPUT)
        return str(name) if name else None

    def in_account(self, account: str) -> "FleetSpec":
        """This fleet deployed in another account: the plan's account id replaced in every
        ARN, URL and name. For organization-wide runs over several accounts."""
        rename = functools.partial(_rename, old=self.account, new=account)

        def each(requests: Sequence[Mapping[str, Any]]) -> Tuple[Dict[str, Any], ...]:
            return tuple(rename(r) for r in requests)

        return replace(
            self,
            cluster=rename(self.cluster),
            capacity_providers=rename(self.capacity_providers) if self.capacity_providers else None,
            task_definitions=each(self.task_definitions),
            services=each(self.services),
            repositories=tuple(replace(r, create=rename(r.create)) for r in self.repositories),
            scalable_targets=each(self.scalable_targets),
            scaling_policies=each(self.scaling_policies),
            alarms=each(self.alarms),
            log_groups=each(self.log_groups),
            compute_outputs=rename(self.compute_outputs),
            observability_outputs=rename(self.observability_outputs),
            network_outputs=rename(self.network_outputs),
            registry_outputs=rename(self.registry_outputs),
        )

    def running_repository_images(self, tag: str = "latest") -> "FleetSpec":
        """This fleet with each service's container running ``<its repository's URL>:<tag>``
        (the registry layer's exports): the plan declares a public placeholder image until a
        release sets the service's own. The case of the Graviton lever, which reads each
        image's manifest from the account's ECR."""
        repositories = self.registry_outputs.get("repositories", {})
        families = {spec["taskDefinitionFamily"]: name for name, spec in self.compute_outputs["services"].items()}
        task_definitions = []
        for request in self.task_definitions:
            name = families.get(request["family"])
            if name in repositories:
                image = f"{repositories[name]['url']}:{tag}"
                containers = [
                    {**c, "image": image} if c["name"] == name else c for c in request["containerDefinitions"]
                ]
                request = {**request, "containerDefinitions": containers}
            task_definitions.append(request)
        return replace(self, task_definitions=tuple(task_definitions))

    def scaled(self, count: int) -> "FleetSpec":
        """A fleet of ``count`` services cloned round-robin from this one's services.

        Clone ``k`` of service ``s`` is named ``svc-{k:04d}`` (critical alternating, so half
        the fleet is Spot-eligible); every request of ``s`` is copied with ``s``'s
        ``{service}-{suffix}`` names rewritten, which is how the stacks name everything a
        service owns (family, service, repository, scalable target, log group, alarms).
        Shared resources (cluster, network, topic) are kept. For benchmarks at fleet scale.
        """
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        suffix = self.suffix
        templates = sorted(self.compute_outputs["services"])
        alarm_outputs = self.observability_outputs.get("alarms", {})
        task_defs, services, repos, targets, policies, alarms = [], [], [], [], [], []
        out_services: Dict[str, Any] = {}
        out_alarms: Dict[str, Any] = {}
        out_repos: Dict[str, Any] = {}
        for k in range(count):
            template = templates[k % len(templates)]
            new = f"svc-{k:04d}"
            old_token, new_token = f"{template}-{suffix}", f"{new}-{suffix}"
            rename = functools.partial(_rename, old=old_token, new=new_token)
            spec = self.compute_outputs["services"][template]
            task_defs += [rename(t) for t in self.task_definitions if t["family"] == spec["taskDefinitionFamily"]]
            services += [rename(s) for s in self.services if s["serviceName"] == spec["serviceName"]]
            repos += [
                replace(r, create=rename(r.create)) for r in self.repositories if r.name == spec["repositoryName"]
            ]
            targets += [rename(t) for t in self.scalable_targets if t["ResourceId"] == spec["scalableTargetResourceId"]]
            policies += [
                rename(p) for p in self.scaling_policies if p["ResourceId"] == spec["scalableTargetResourceId"]
            ]
            names = {ref["name"] for ref in alarm_outputs.get(template, {}).values() if ref}
            names |= set(spec.get("deploymentAlarmNames", []))
            alarms += [rename(a) for a in self.alarms if a["AlarmName"] in names]
            entry = rename(spec)
            entry["critical"] = k % 2 == 0
            out_services[new] = entry
            if template in alarm_outputs:
                out_alarms[new] = rename(alarm_outputs[template])
            registry_repos = self.registry_outputs.get("repositories", {})
            if template in registry_repos:
                out_repos[new] = rename(registry_repos[template])
        # The observability alarms and the compute layer's deployment guards of the templates are
        # replaced by their clones' (a cloned service's deployment names its own guards).
        per_service = _service_alarm_names(alarm_outputs) | {
            name for spec in self.compute_outputs["services"].values() for name in spec.get("deploymentAlarmNames", [])
        }
        for service in services:
            # the Critical tag follows the clone's flag, as the compute layer tags services
            crit = out_services[_catalog_name(service["serviceName"], suffix)]["critical"]
            service["tags"] = [
                dict(t, value=str(crit).lower()) if t.get("key") == "Critical" else t for t in service.get("tags", [])
            ]
        return replace(
            self,
            task_definitions=tuple(task_defs),
            services=tuple(services),
            repositories=tuple(repos),
            scalable_targets=tuple(targets),
            scaling_policies=tuple(policies),
            alarms=tuple(a for a in self.alarms if a["AlarmName"] not in per_service) + tuple(alarms),
            compute_outputs={**self.compute_outputs, "services": out_services},
            observability_outputs={**self.observability_outputs, "alarms": out_alarms},
            registry_outputs={**self.registry_outputs, "repositories": out_repos},
        )


def _catalog_name(service_name: str, suffix: str) -> str:
    return service_name[: -len(suffix) - 1]


def _service_alarm_names(alarm_outputs: Mapping[str, Any]) -> set:
    return {ref["name"] for kinds in alarm_outputs.values() for ref in kinds.values() if ref}


def _rename(value: Any, old: str, new: str) -> Any:
    """A deep copy of ``value`` with ``old`` replaced by ``new`` in every string."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, Mapping):
        return {k: _rename(v, old, new) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rename(v, old, new) for v in value]
    return copy.deepcopy(value)


def _with_tags(plan: Plan, resource: PlannedResource, key: str = "tags") -> Dict[str, Any]:
    """The resource's inputs with provider default tags merged under its own (its own win)."""
    inputs = dict(resource.inputs)
    tags = {**plan.default_tags(resource), **(inputs.get(key) or {})}
    if tags:
        inputs[key] = tags
    return inputs


def _one(plan: Plan, type_: str) -> PlannedResource:
    found = plan.of_type(type_)
    if len(found) != 1:
        raise PlanError(f"the compute plan declares {len(found)} {type_} resources; expected exactly one")
    return found[0]


def _task_definition(plan: Plan, r: PlannedResource) -> Dict[str, Any]:
    inputs = _with_tags(plan, r)
    containers = inputs.get("containerDefinitions")
    if isinstance(containers, str):
        inputs["containerDefinitions"] = json.loads(containers)
    return api_params("ecs", "RegisterTaskDefinition", inputs, f"{r.layer}:{r.name}", ignore=PULUMI_ONLY[T_TASK_DEF])


def _service(plan: Plan, r: PlannedResource) -> Dict[str, Any]:
    """Pulumi's flattened service arguments regrouped the way CreateService takes them."""
    x = _with_tags(plan, r)
    x["serviceName"] = x.pop("name")
    deployment = dict(x.pop("deploymentConfiguration", None) or {})
    moves = {
        "deploymentCircuitBreaker": "deploymentCircuitBreaker",
        "deploymentMaximumPercent": "maximumPercent",
        "deploymentMinimumHealthyPercent": "minimumHealthyPercent",
        "alarms": "alarms",
    }
    for pulumi_name, api_name in moves.items():
        if x.get(pulumi_name) is not None:
            deployment[api_name] = x.pop(pulumi_name)
        x.pop(pulumi_name, None)
    if deployment:
        x["deploymentConfiguration"] = deployment
    if "capacityProviderStrategies" in x:
        x["capacityProviderStrategy"] = x.pop("capacityProviderStrategies")
    if "orderedPlacementStrategies" in x:
        x["placementStrategy"] = x.pop("orderedPlacementStrategies")
    if "iamRole" in x:
        x["role"] = x.pop("iamRole")
    if isinstance(x.get("serviceRegistries"), Mapping):
        x["serviceRegistries"] = [x["serviceRegistries"]]
    if isinstance(x.get("volumeConfiguration"), Mapping):
        x["volumeConfigurations"] = [x.pop("volumeConfiguration")]
    network = x.pop("networkConfiguration", None)
    if network:
        awsvpc = {k: v for k, v in network.items() if k != "assignPublicIp"}
        if "assignPublicIp" in network:
            awsvpc["assignPublicIp"] = (
                "ENABLED" if network["assignPublicIp"] in (True, "true", "ENABLED") else "DISABLED"
            )
        x["networkConfiguration"] = {"awsvpcConfiguration": awsvpc}
    return api_params("ecs", "CreateService", x, f"{r.layer}:{r.name}", ignore=PULUMI_ONLY[T_SERVICE])


def _alarm(plan: Plan, r: PlannedResource) -> Dict[str, Any]:
    x = _with_tags(plan, r)
    queries = x.pop("metricQueries", None)
    if queries:
        x["metrics"] = [_metric_query(q) for q in queries]
    return api_params(
        "cloudwatch",
        "PutMetricAlarm",
        x,
        f"{r.layer}:{r.name}",
        renames={
            "name": "AlarmName",
            "metrics": "Metrics",
            "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
        },
    )


def _metric_query(q: Mapping[str, Any]) -> Dict[str, Any]:
    """Pulumi's ``metricQueries`` entry as a PutMetricAlarm ``Metrics`` entry (MetricStat nested)."""
    out = {k: v for k, v in q.items() if k != "metric"}
    metric = q.get("metric")
    if metric:
        inner = {k: metric[k] for k in ("metricName", "namespace", "dimensions") if metric.get(k) is not None}
        stat = {"metric": inner, "period": metric.get("period"), "stat": metric.get("stat")}
        if metric.get("unit"):
            stat["unit"] = metric["unit"]
        out["metricStat"] = stat
    return out


def _repositories(plan: Plan, image_count: Optional[int]) -> Tuple[RepositorySpec, ...]:
    policies = {str(r.inputs.get("repository")): r for r in plan.of_type(T_LIFECYCLE)}
    keep = {
        str(repo["name"]): int(repo["keepImages"])
        for repo in (plan.outputs.get("registry", {}).get("repositories") or {}).values()
    }
    specs = []
    for r in plan.of_type(T_REPOSITORY):
        x = _with_tags(plan, r)
        encryption = x.pop("encryptionConfigurations", None)
        if encryption:
            x["encryptionConfiguration"] = encryption[0]
        create = api_params(
            "ecr",
            "CreateRepository",
            x,
            f"{r.layer}:{r.name}",
            renames={"name": "repositoryName"},
            ignore=PULUMI_ONLY[T_REPOSITORY],
        )
        name = create["repositoryName"]
        policy = policies.pop(name, None)
        text = None
        if policy is not None:
            text = api_params(
                "ecr",
                "PutLifecyclePolicy",
                policy.inputs,
                f"{policy.layer}:{policy.name}",
                renames={"repository": "repositoryName", "policy": "lifecyclePolicyText"},
            )["lifecyclePolicyText"]
        # A repository at its lifecycle policy's steady state holds as many images as it keeps.
        count = image_count if image_count is not None else keep.get(name, 10)
        specs.append(RepositorySpec(create=create, lifecycle_policy=text, image_count=count))
    if policies:
        raise PlanError(f"lifecycle policies for repositories the plan does not declare: {', '.join(sorted(policies))}")
    return tuple(specs)


def _network(plan: Plan, services: Sequence[Mapping[str, Any]]) -> Optional[NetworkSpec]:
    subnets: List[str] = []
    groups: List[str] = []
    for s in services:
        awsvpc = (s.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        subnets += [i for i in awsvpc.get("subnets", []) if i not in subnets]
        groups += [i for i in awsvpc.get("securityGroups", []) if i not in groups]
    if not subnets:
        return None
    net = plan.outputs.get("network", {})
    cidr = net.get("vpcCidr")
    if not cidr:
        vpcs = plan.of_type("aws:ec2/vpc:Vpc")
        cidr = vpcs[0].inputs.get("cidrBlock") if vpcs else "10.0.0.0/16"
    zones = tuple(net.get("availabilityZones") or ()) or (f"{_region(plan)}a",)
    return NetworkSpec(str(cidr), zones, tuple(subnets), tuple(groups))


def _region(plan: Plan) -> str:
    region = plan.outputs.get("compute", {}).get("region")
    if not region:
        raise PlanError("the compute plan's outputs have no region")
    return str(region)


def _stop_log_groups(plan: Plan) -> Tuple[Dict[str, Any], ...]:
    """The CreateLogGroup request of the task-stop log group the compute layer exports, if
    it exports one (the group's key and retention are the stacks' business, not the lab's)."""
    name = plan.outputs.get("compute", {}).get(TASK_STOP_LOG_OUTPUT)
    return ({"logGroupName": str(name)},) if name else ()


def fleet_from_plan(plan_dir: Path | str, image_count: Optional[int] = None) -> FleetSpec:
    """The fleet the plan declares. ``image_count`` overrides the images per repository
    (default: the registry's ``keepImages``, the steady state of its lifecycle policy)."""
    plan = load_plan(plan_dir)
    cluster = _one(plan, T_CLUSTER)
    capacity = plan.of_type(T_CAPACITY)
    services = tuple(_service(plan, r) for r in plan.of_type(T_SERVICE))
    return FleetSpec(
        region=_region(plan),
        cluster=api_params(
            "ecs",
            "CreateCluster",
            _with_tags(plan, cluster),
            f"compute:{cluster.name}",
            renames={"name": "clusterName"},
        ),
        capacity_providers=(
            api_params(
                "ecs",
                "PutClusterCapacityProviders",
                capacity[0].inputs,
                f"compute:{capacity[0].name}",
                renames={
                    "clusterName": "cluster",
                    "defaultCapacityProviderStrategies": "defaultCapacityProviderStrategy",
                },
            )
            if capacity
            else None
        ),
        network=_network(plan, services),
        task_definitions=tuple(_task_definition(plan, r) for r in plan.of_type(T_TASK_DEF)),
        services=services,
        repositories=_repositories(plan, image_count),
        scalable_targets=tuple(
            api_params("application-autoscaling", "RegisterScalableTarget", _with_tags(plan, r), f"compute:{r.name}")
            for r in plan.of_type(T_TARGET)
        ),
        scaling_policies=tuple(
            api_params(
                "application-autoscaling",
                "PutScalingPolicy",
                r.inputs,
                f"compute:{r.name}",
                renames={"name": "PolicyName"},
            )
            for r in plan.of_type(T_POLICY)
        ),
        alarms=tuple(_alarm(plan, r) for r in plan.of_type(T_ALARM)),
        log_groups=_stop_log_groups(plan),
        compute_outputs=dict(plan.outputs.get("compute", {})),
        observability_outputs=dict(plan.outputs.get("observability", {})),
        network_outputs=dict(plan.outputs.get("network", {})),
        registry_outputs=dict(plan.outputs.get("registry", {})),
    )
