"""The optimizer reads the platform's facts from the generated facts file, and they hold against
what the stacks actually plan (the reviewed dev plan snapshots)."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any, Dict

import pytest
from jsonschema import Draft202012Validator

from ecs_optimizer.apply import lock
from ecs_optimizer.core import facts
from ecs_optimizer.core.errors import BadInput
from ecs_optimizer.live import resources, targets
from ecs_optimizer.planning import spot_weights
from plan_snapshots import PLAN_DIR

LAYERS = ("network", "registry", "compute", "observability")


def plan(layer: str) -> Dict[str, Any]:
    return json.loads((PLAN_DIR / f"{layer}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", facts.spot_weight_cases(), ids=lambda c: str(c["share"]))
def test_spot_weights_follow_the_shared_table(case: Dict[str, Any]) -> None:
    expected = (case["onDemand"], case["spot"])
    assert spot_weights.spot_weights(Fraction(case["share"])) == expected
    # The CLI hands the share over as a decimal string's value.
    assert spot_weights.spot_weights(Fraction(str(case["share"]))) == expected


def test_the_table_holds_the_share_that_once_diverged() -> None:
    assert {"share": 0.875, "onDemand": 1, "spot": 7} in facts.spot_weight_cases()
    assert len(facts.spot_weight_cases()) >= 10


def test_planned_weights_are_a_fixed_point() -> None:
    for case in facts.spot_weight_cases():
        on_demand, spot = case["onDemand"], case["spot"]
        assert spot_weights.spot_weights(Fraction(spot, on_demand + spot)) == (on_demand, spot)


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_exports_what_its_contract_schema_says(layer: str) -> None:
    validator = Draft202012Validator(facts.contract_schema(layer))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(plan(layer)["outputs"])]
    assert errors == []
    assert plan(layer)["outputs"]["contractVersion"] == facts.contract_version(layer)


def test_a_schema_violation_is_found() -> None:
    outputs = plan("compute")["outputs"]
    outputs["services"]["frontend"]["cpu"] = "512"
    assert not Draft202012Validator(facts.contract_schema("compute")).is_valid(outputs)


def test_compute_output_keys_come_from_the_contract() -> None:
    required, optional = facts.contract_keys("compute", "services", "*")
    assert required["cpu"] is int and required["critical"] is bool
    assert "targetGroupArnSuffix" in optional  # nullable in the contract
    top, _ = facts.contract_keys("compute")
    assert top["services"] is dict
    assert targets.SUPPORTED_CONTRACT_VERSIONS[-1] == facts.contract_version("compute")


def test_the_planned_compute_outputs_parse_and_a_missing_key_is_named() -> None:
    outputs = plan("compute")["outputs"]
    parsed = targets.parse_compute_outputs(outputs, "outputs.json")
    assert parsed.cluster_name == facts.cluster_name(outputs["environmentSuffix"])
    del outputs["services"]["frontend"]["repositoryName"]
    with pytest.raises(BadInput, match=r"services\.frontend: missing key repositoryName"):
        targets.parse_compute_outputs(outputs, "outputs.json")


def test_alarm_names_match_the_observability_plan() -> None:
    outputs = plan("observability")["outputs"]
    suffix = outputs["environmentSuffix"]
    for service, alarms in outputs["alarms"].items():
        for kind, ref in alarms.items():
            assert targets.ALARM_PATTERNS[kind].format(service=service, suffix=suffix) == ref["name"]
        assert set(targets.REQUIRED_ALARM_KINDS) <= set(alarms)


def test_the_lock_is_the_parameter_the_compute_layer_grants() -> None:
    statements = [
        s
        for r in plan("compute")["resources"]
        if r["type"] == "aws:iam/policy:Policy" and "policy" in r["inputs"]
        for s in json.loads(r["inputs"]["policy"]).get("Statement", [])
        if s.get("Sid") == "RunLock"
    ]
    cluster = plan("compute")["outputs"]["clusterName"]
    assert statements, "the optimizer policy has no RunLock statement"
    resources_ = statements[0]["Resource"]
    granted = resources_ if isinstance(resources_, list) else [resources_]
    assert any(arn.endswith(f":parameter{lock.lock_name(cluster)}") for arn in granted)


def test_a_new_lifecycle_policy_is_the_registry_layers_policy() -> None:
    policies = [
        r["inputs"]["policy"]
        for r in plan("registry")["resources"]
        if r["type"] == "aws:ecr/lifecyclePolicy:LifecyclePolicy"
    ]
    assert policies
    planned = json.loads(policies[0])
    keep, editable = resources.keep_count(policies[0])
    assert editable and keep is not None
    assert json.loads(resources.with_keep_count(None, keep)) == planned
    assert json.loads(resources.with_keep_count(policies[0], 3))["rules"][1]["selection"]["countNumber"] == 3


def test_tiers_and_spot_range_reach_the_cli() -> None:
    from ecs_optimizer.cli.main import cli

    optimize = cli.commands["optimize"]
    spot = next(p for p in optimize.params if p.name == "spot_share")
    tier = next(p for p in optimize.params if p.name == "tier")
    assert (spot.type.min, spot.type.max) == facts.spot_share_range()
    assert spot.default == facts.spot_share_range()[0]
    assert tuple(tier.type.choices) == facts.tiers()


def test_the_cluster_carries_its_tier_under_the_tag_discovery_reads() -> None:
    compute = plan("compute")
    cluster = next(r for r in compute["resources"] if r["type"] == "aws:ecs/cluster:Cluster")
    assert cluster["inputs"]["name"] == facts.cluster_name(compute["outputs"]["environmentSuffix"])
    assert cluster["inputs"]["tags"][facts.cluster_tier_tag()] == compute["outputs"]["tier"]
    assert facts.default_tier() in facts.tiers()


def test_a_contract_number_may_be_read_as_a_float() -> None:
    required, _ = facts.contract_keys("observability", "alarms", "*", "cpuHigh", number=float)
    assert required == {"name": str, "threshold": float}


def test_config_keys_are_the_ones_the_stacks_read() -> None:
    assert facts.config_key("compute", "spotShare") == "compute:spotShare"
    with pytest.raises(KeyError, match="compute:spotSahre is not a config key the compute layer reads"):
        facts.config_key("compute", "spotSahre")


def test_service_and_repository_names_match_the_plans_and_read_back() -> None:
    compute = plan("compute")["outputs"]
    repositories = plan("registry")["outputs"]["repositories"]
    suffix = compute["environmentSuffix"]
    for service, out in compute["services"].items():
        assert facts.service_name(service, suffix) == out["serviceName"]
        assert facts.repository_name(service, suffix) == repositories[service]["name"] == out["repositoryName"]
        assert facts.catalog_name(out["serviceName"], suffix) == service
    # A name of another fleet, or the bare suffix, is not one of this fleet's services.
    assert facts.catalog_name(f"frontend-{suffix}x", suffix) is None
    assert facts.catalog_name(f"-{suffix}", suffix) is None
    assert facts.catalog_name(suffix, suffix) is None


def test_the_fixed_floor_is_the_catalogs_default_size_for_every_tier() -> None:
    from ecs_optimizer.planning import task_sizes

    assert task_sizes.FIXED_FLOOR == facts.default_task_sizes()
    assert set(task_sizes.FIXED_FLOOR) == set(facts.tiers())
    for cpu, memory in task_sizes.FIXED_FLOOR.values():
        assert memory in facts.fargate_sizes()[cpu]


def test_written_threshold_kinds_are_the_observability_layers_override_keys() -> None:
    from ecs_optimizer.writeback import keys

    assert set(keys.THRESHOLD_KINDS) == set(facts.threshold_override_kinds())
    # The kinds the optimizer retunes by task size are among them; the rest follow other settings.
    assert {"cpuHigh", "memoryHigh"} <= set(keys.THRESHOLD_KINDS) <= set(facts.service_alarm_patterns())
    assert set(keys.PER_TIER_FIELDS) == set(facts.per_tier_count_fields())


def test_architectures_are_the_ecs_apis_and_the_default_comes_first() -> None:
    import botocore.session

    from ecs_optimizer.core import fargate

    shape = botocore.session.get_session().get_service_model("ecs").shape_for("CPUArchitecture")
    assert set(fargate.ARCHITECTURES) == set(shape.enum)
    # A task definition without a runtime platform runs on X86_64 (the ECS API's documented default).
    assert fargate.X86_64 == "X86_64" and fargate.ARM64 == "ARM64"


def test_discovery_reads_criticality_from_the_tag_the_compute_layer_sets() -> None:
    services = [r for r in plan("compute")["resources"] if r["type"] == "aws:ecs/service:Service"]
    assert services
    for service in services:
        assert service["inputs"]["tags"][facts.critical_tag()] in ("true", "false")


def _fact_strings() -> set:
    """The names, tags, lock and capacity providers the stacks decide, with the fixed parts of
    each naming pattern (``ecs-cluster`` of ``ecs-cluster-{suffix}``)."""
    import re

    document = facts.load()
    found: set = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.add(value)
            found.update(p.strip("-/") for p in re.split(r"\{[a-z]+\}", value) if len(p.strip("-/")) >= 6)

    walk({k: document[k] for k in ("naming", "lockParameter", "capacityProviders")})
    return found


def _is_name(fact: str) -> bool:
    return any(mark in fact for mark in "-/_")


def test_no_platform_name_tag_or_provider_is_typed_in_the_core() -> None:
    """A grep for the stacks' names in the optimizer's code (docstrings aside) finds only facts.py's
    readers: every other module takes them from the facts file."""
    import ast
    from pathlib import Path

    import ecs_optimizer

    wanted = _fact_strings()
    hits = []
    for path in sorted(Path(ecs_optimizer.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                # A word such as "Critical" may be prose; a name with - / or _ inside a text is not.
                if any(fact == node.value or (_is_name(fact) and fact in node.value) for fact in wanted):
                    hits.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert hits == []


def test_an_alarm_kind_the_stacks_do_not_create_is_refused_at_import() -> None:
    from ecs_optimizer.planning import alarm_thresholds

    assert alarm_thresholds.CPU_HIGH in facts.service_alarm_patterns()
    with pytest.raises(KeyError, match="cpuHighest is not an alarm kind"):
        facts.alarm_kind("cpuHighest")
