"""The platform's facts, as the stacks state them: read from ``platform_facts.json``.

The stacks own these facts (contract schemas, config keys, resource naming, alarm names, the run lock, tiers, Fargate sizes,
the Spot share range and weight rule, VPC endpoint sets, the ECR lifecycle policy). The file is
generated from the stacks' code by ``npm run contracts -- update``, shipped as package data, and
checked for staleness by the TypeScript specs, so the optimizer never retypes a fact by hand.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

FACTS_FILE = "platform_facts.json"

#: JSON Schema type -> the Python type a value must have ("number" is chosen per call).
_PYTHON_TYPES: Mapping[str, type] = {"string": str, "boolean": bool, "object": dict, "array": list}


@lru_cache(maxsize=1)
def load() -> Dict[str, Any]:
    """The whole facts document (read once)."""
    document: Dict[str, Any] = json.loads(resources.files(__package__).joinpath(FACTS_FILE).read_text(encoding="utf-8"))
    return document


def tiers() -> Tuple[str, ...]:
    return tuple(load()["tiers"])


def default_tier() -> str:
    """The tier of a stack that does not set one."""
    return str(load()["defaultTier"])


def cluster_tier_tag() -> str:
    """The cluster tag that carries the stack's tier."""
    return str(load()["naming"]["clusterTierTag"])


def config_key(layer: str, name: str) -> str:
    """``layer:name``, a config key the layer's program reads; a name it does not read is an error."""
    key = f"{layer}:{name}"
    if key not in load()["configKeys"].get(layer, []):
        raise KeyError(f"{key} is not a config key the {layer} layer reads")
    return key


def contract_version(layer: str) -> int:
    return int(load()["contracts"][layer]["contractVersion"])


def contract_schema(layer: str) -> Dict[str, Any]:
    """The layer's stack outputs as a JSON Schema (draft 2020-12)."""
    schema: Dict[str, Any] = copy.deepcopy(load()["contracts"][layer]["schema"])
    return schema


def _at(schema: Dict[str, Any], path: Tuple[str, ...]) -> Dict[str, Any]:
    """The object schema at ``path``: a key name descends into a property, ``*`` into a map's values."""
    for part in path:
        schema = schema["additionalProperties"] if part == "*" else schema["properties"][part]
    return schema


def _python_type(schema: Dict[str, Any], number: type) -> Tuple[Optional[type], bool]:
    """(the type a value must have, whether null is allowed); None: any value."""
    types = {**_PYTHON_TYPES, "number": number}
    kind = schema.get("type")
    if isinstance(kind, list):
        named = [k for k in kind if k != "null"]
        return (types[named[0]] if named else None), "null" in kind
    if kind is None:
        branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
        nullable = len(branches) != len(schema.get("anyOf", []))
        return (_python_type(branches[0], number)[0] if branches else None), nullable
    return types[kind], False


def contract_keys(layer: str, *path: str, number: type = int) -> Tuple[Dict[str, type], Dict[str, type]]:
    """(required keys, optional keys) with their Python types, of the object at ``path`` of the
    layer's contract. A key that may be null counts as optional; an untyped key is left out.
    ``number``: the type a contract number must have (int where every number is a count, a size
    or a version, as in the compute contract)."""
    schema = _at(load()["contracts"][layer]["schema"], path)
    required: Dict[str, type] = {}
    optional: Dict[str, type] = {}
    for key, prop in schema["properties"].items():
        kind, nullable = _python_type(prop, number)
        if kind is None:
            continue
        target = required if key in schema.get("required", []) and not nullable else optional
        target[key] = kind
    return required, optional


def required_alarm_kinds() -> Tuple[str, ...]:
    """The alarm kinds every service has (the rest exist only for some services)."""
    return tuple(_at(load()["contracts"]["observability"]["schema"], ("alarms", "*"))["required"])


def fargate_sizes() -> Dict[int, List[int]]:
    """Fargate CPU units -> the memory sizes (MiB) valid with them, ascending, smallest CPU first."""
    table = load()["fargateSizes"]
    return {int(cpu): list(table[cpu]) for cpu in sorted(table, key=int)}


def cluster_name(suffix: str) -> str:
    return str(load()["naming"]["cluster"]).format(suffix=suffix)


def service_name(service: str, suffix: str) -> str:
    """The AWS name of a catalog service (``{service}-{suffix}``)."""
    return str(load()["naming"]["service"]).format(service=service, suffix=suffix)


def repository_name(service: str, suffix: str) -> str:
    """The ECR repository of a catalog service."""
    return str(load()["naming"]["repository"]).format(service=service, suffix=suffix)


def catalog_name(aws_name: str, suffix: str) -> Optional[str]:
    """The catalog name inside an AWS service name of the fleet ``suffix``; None when the name
    does not follow the naming pattern."""
    head, _, tail = str(load()["naming"]["service"]).format(service="{service}", suffix=suffix).partition("{service}")
    if len(aws_name) <= len(head) + len(tail) or not (aws_name.startswith(head) and aws_name.endswith(tail)):
        return None
    return aws_name[len(head) : len(aws_name) - len(tail)]


def default_task_sizes() -> Dict[str, Tuple[int, int]]:
    """Tier -> the (cpu, memory) a catalog entry gets when it sets no size."""
    return {tier: (int(s["cpu"]), int(s["memory"])) for tier, s in load()["catalog"]["defaultSizes"].items()}


def catalog_field(name: str) -> str:
    """A field of a service catalog entry; a name the catalog does not have is an error."""
    if name not in load()["catalog"]["fields"]:
        raise KeyError(f"{name} is not a field of a service catalog entry")
    return name


def task_size_keys() -> Tuple[str, str]:
    """The keys of a catalog task size: (CPU units, memory MiB)."""
    cpu, memory = load()["catalog"]["taskSizeKeys"]
    return str(cpu), str(memory)


def architectures() -> Tuple[str, ...]:
    """CPU architectures a service may run on; the first is the one without a runtime platform."""
    return tuple(load()["catalog"]["architectures"])


def critical_tag() -> str:
    """The service tag that says whether the service is critical (``"true"``/``"false"``)."""
    return str(load()["naming"]["criticalTag"])


def per_tier_count_fields() -> Tuple[str, ...]:
    """Catalog counts given as one number for every tier or as a map of tiers."""
    return tuple(load()["catalog"]["perTierCounts"])


def threshold_override_kinds() -> Tuple[str, ...]:
    """Alarm kinds whose threshold the observability layer takes per service (its ``thresholds`` key)."""
    return tuple(load()["thresholdOverrideKinds"])


def service_alarm_patterns() -> Dict[str, str]:
    """Alarm kind -> its name pattern, ``cpu-high-{service}-{suffix}``."""
    return dict(load()["naming"]["serviceAlarms"])


def alarm_kind(name: str) -> str:
    """An alarm kind the observability layer creates per service; a name it does not is an error."""
    if name not in load()["naming"]["serviceAlarms"]:
        raise KeyError(f"{name} is not an alarm kind the observability layer creates")
    return name


def task_stop_log_group(suffix: str) -> str:
    """The log group of the cluster's stopped-task events, as the compute layer names it."""
    return str(load()["naming"]["taskStopLogGroup"]).format(suffix=suffix)


def task_stop_output_key() -> str:
    """The compute export that names that log group."""
    return str(load()["taskStops"]["outputKey"])


def lock_parameter(cluster: str) -> str:
    """The SSM parameter that holds a cluster's run lock (the compute layer grants exactly it)."""
    return str(load()["lockParameter"]).format(cluster=cluster)


def capacity_providers() -> Tuple[str, str]:
    """(on-demand, Spot) capacity provider names."""
    providers = load()["capacityProviders"]
    return providers["onDemand"], providers["spot"]


def spot_share_range() -> Tuple[float, float]:
    share = load()["spot"]["shareRange"]
    return float(share["min"]), float(share["max"])


def spot_max_weight_total() -> int:
    return int(load()["spot"]["maxWeightTotal"])


def spot_weight_cases() -> List[Dict[str, Any]]:
    """The worked examples of the Spot weight rule, shared with the compute layer's specs."""
    cases: List[Dict[str, Any]] = copy.deepcopy(load()["spot"]["weightCases"])
    return cases


def interface_endpoint_defaults() -> Tuple[str, ...]:
    """The interface endpoints the network layer deploys by default (what tasks need without NAT)."""
    return tuple(load()["endpoints"]["interfaceDefaults"])


def gateway_endpoint_services() -> FrozenSet[str]:
    """Services reached through (free) gateway endpoints rather than interface endpoints."""
    return frozenset(load()["endpoints"]["gatewayServices"])


def lifecycle_keep_rule() -> Dict[str, Any]:
    """What identifies the lifecycle policy's keep-last rule: its tagStatus and countType."""
    return dict(load()["ecrLifecycle"]["keepRule"])


def lifecycle_policy(keep: int) -> Dict[str, Any]:
    """The lifecycle policy the registry layer creates, keeping the last ``keep`` images."""
    policy: Dict[str, Any] = copy.deepcopy(load()["ecrLifecycle"]["policy"])
    priority = lifecycle_keep_rule()["rulePriority"]
    for rule in policy["rules"]:
        if rule["rulePriority"] == priority:
            rule["selection"]["countNumber"] = keep
    return policy
