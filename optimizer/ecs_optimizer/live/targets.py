"""What to optimize: the compute stack's outputs (a file or ``pulumi stack output``) or discovery.

Inputs are validated strictly before any AWS call that changes anything, and every complaint
names the file, the key and the value, so a bad input exits 2 with nothing changed. Whether
the named resources exist is checked against AWS separately (:func:`discovery.verify_in_aws`), which
exits 3 when they do not.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from ..core import facts, fargate
from ..core.errors import BadInput

log = logging.getLogger(__name__)

#: The compute contract versions this optimizer reads (the stacks' current one is in the facts).
SUPPORTED_CONTRACT_VERSIONS = (1,)
TIERS = facts.tiers()

#: Alarm kinds the observability layer creates, with the name pattern it uses.
ALARM_PATTERNS: Dict[str, str] = facts.service_alarm_patterns()
REQUIRED_ALARM_KINDS = facts.required_alarm_kinds()

#: The compute export naming the log group of the cluster's stopped-task events, and the name
#: the compute layer gives it (what discovery, which has no outputs, looks for).
TASK_STOP_LOG_KEY = facts.task_stop_output_key()

#: Contract keys the optimizer tolerates missing: outputs saved by stacks released before the keys
#: existed (the optimizer does not read optimizerPolicyArn; a missing baseline means "not rightsized";
#: a missing task-stop log means sizing without OOM evidence).
_OLDER_STACK_KEYS = ("optimizerPolicyArn", "baselineCpu", "baselineMemory", TASK_STOP_LOG_KEY)


def _output_keys(*path: str) -> Tuple[Dict[str, type], Dict[str, type]]:
    """(required, optional) keys of the compute contract at ``path``, from the platform facts."""
    required, optional = facts.contract_keys("compute", *path)
    for key in _OLDER_STACK_KEYS:
        if key in required:
            optional[key] = required.pop(key)
    return required, optional


_TOP_KEYS, _OPTIONAL_TOP_KEYS = _output_keys()
#: The compute output naming the log group of stopped tasks (the out-of-memory evidence).
TASK_STOP_LOG_KEY = "taskStopLogGroupName"
_SERVICE_KEYS, _OPTIONAL_SERVICE_KEYS = _output_keys("services", "*")


@dataclass(frozen=True)
class AlarmRef:
    """An alarm the optimizer may retune. ``required``: named by outputs, so it must exist."""

    kind: str
    name: str
    required: bool = False


@dataclass(frozen=True)
class Declared:
    """What the compute stack declared: the pre-optimization baseline ``fixed`` halves from.

    ``cpu``/``memory`` are the deployed size; ``baseline_cpu``/``baseline_memory`` the size
    before any write-back (``baselineCpu``/``baselineMemory``, equal to cpu/memory when the
    stack does not export them), which ``fixed`` halves so repeated runs do not ratchet.
    """

    cpu: int
    memory: int
    desired_count: int
    min_capacity: int
    max_capacity: int
    baseline_cpu: Optional[int] = None
    baseline_memory: Optional[int] = None

    @property
    def baseline(self) -> Tuple[int, int]:
        """(cpu, memory) ``fixed`` halves from."""
        if self.baseline_cpu is None or self.baseline_memory is None:
            return self.cpu, self.memory
        return self.baseline_cpu, self.baseline_memory


@dataclass(frozen=True)
class ServiceTarget:
    """One service's identity in AWS. The state to optimize is read live (it changes with every
    run); ``declared`` is the stack's baseline, when the targets came from its outputs."""

    name: str  # catalog name, e.g. "frontend"
    service_name: str  # ECS service name, e.g. "frontend-dev"
    critical: bool
    scalable_target_resource_id: str
    repository_name: str
    alarms: Tuple[AlarmRef, ...] = ()
    #: Set when the outputs named the service (then its scalable target and repository must exist).
    declared: Optional[Declared] = None
    #: ARN suffixes of the service's target groups (``targetgroup/NAME/ID``, the load
    #: balancer metrics' TargetGroup dimension), as the outputs name them; none for an
    #: internal service or targets found by discovery.
    target_groups: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Targets:
    source: str  # what the targets came from, for the report and log
    environment_suffix: str
    tier: str
    region: Optional[str]
    cluster_name: str
    services: Dict[str, ServiceTarget] = field(default_factory=dict)
    #: The log group of stopped-task events; None when the outputs name none (an older
    #: compute stack): the run then sizes without OOM evidence.
    task_stop_log_group: Optional[str] = None

    def only(self, names: Sequence[str], source: str = "--service") -> "Targets":
        """Limit to ``names``; an unknown name is bad input naming what is known."""
        if not names:
            return self
        unknown = [n for n in names if n not in self.services]
        if unknown:
            known = ", ".join(sorted(self.services)) or "none"
            raise BadInput(f"{source}: unknown service {', '.join(unknown)} (known: {known})")
        return replace(self, services={n: self.services[n] for n in names})


# ----------------------------------------------------------------------------- file inputs


def read_json_file(path: str) -> Any:
    """Parse a JSON file; unreadable or malformed files are bad input naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_json(text, path)


def parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise BadInput(f"{where}: JSON nested too deeply") from exc


def key_path(where: str, key: str) -> str:
    """``file: a.b`` for nested keys, ``file: a`` for top-level ones."""
    return f"{where}.{key}" if ": " in where else f"{where}: {key}"


def _check_type(value: Any, expected: type, where: str) -> Any:
    # bool is an int subclass; a contract int must not accept true/false.
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok or (expected is str and not value.strip()):
        kind = {int: "an integer", str: "a non-empty string", bool: "true or false", dict: "an object"}[expected]
        raise BadInput(f"{where}: expected {kind}, got {json.dumps(value)}")
    return value


def require_keys(obj: Any, spec: Mapping[str, type], where: str, optional: Optional[Mapping[str, type]] = None) -> None:
    """Every key of ``spec`` present with its type; optional keys typed when present."""
    if not isinstance(obj, dict):
        raise BadInput(f"{where}: expected an object, got {json.dumps(obj)[:60]}")
    missing = [k for k in spec if k not in obj]
    if missing:
        raise BadInput(f"{where}: missing key {', '.join(missing)}")
    present = {k: v for k, v in (optional or {}).items() if obj.get(k) is not None}
    for key, expected in {**spec, **present}.items():
        _check_type(obj[key], expected, key_path(where, key))


def parse_compute_outputs(data: Any, where: str) -> Targets:
    """Validate compute stack outputs (contract version 1) and build the targets."""
    if not isinstance(data, dict):
        raise BadInput(f"{where}: expected a JSON object of stack outputs")
    version = data.get("contractVersion")
    if "contractVersion" in data and version not in SUPPORTED_CONTRACT_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_CONTRACT_VERSIONS)
        raise BadInput(f"{where}: contractVersion {json.dumps(version)} is not supported (supported: {supported})")
    require_keys(data, _TOP_KEYS, where, _OPTIONAL_TOP_KEYS)
    tier = data["tier"]
    if tier not in TIERS:
        raise BadInput(f"{where}: tier {json.dumps(tier)} is not one of {', '.join(TIERS)}")
    if not data["services"]:
        raise BadInput(f"{where}: services is empty")
    suffix = data["environmentSuffix"]
    services = {
        name: _parse_service(name, spec, f"{where}: services.{name}", suffix) for name, spec in data["services"].items()
    }
    stop_log = data.get(TASK_STOP_LOG_KEY)
    if stop_log is not None:
        _check_type(stop_log, str, key_path(where, TASK_STOP_LOG_KEY))
    return Targets(
        source=where,
        environment_suffix=suffix,
        tier=tier,
        region=data["region"],
        cluster_name=data["clusterName"],
        services=services,
        task_stop_log_group=stop_log,
    )


def _parse_service(name: str, spec: Any, where: str, suffix: str) -> ServiceTarget:
    require_keys(spec, _SERVICE_KEYS, where, _OPTIONAL_SERVICE_KEYS)
    try:
        fargate.check_size(spec["cpu"], spec["memory"], where)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    baseline: Tuple[Optional[int], Optional[int]] = (spec.get("baselineCpu"), spec.get("baselineMemory"))
    if baseline.count(None) == 1:
        missing = "baselineMemory" if baseline[1] is None else "baselineCpu"
        raise BadInput(f"{where}: baselineCpu and baselineMemory come together; {missing} is missing")
    if baseline[0] is not None:
        try:
            fargate.check_size(baseline[0], baseline[1] or 0, f"{where} baselineCpu/baselineMemory")
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
    low, desired, high = spec["minCapacity"], spec["desiredCount"], spec["maxCapacity"]
    if not 0 <= low <= high:
        raise BadInput(f"{where}: minCapacity {low} and maxCapacity {high} must satisfy 0 <= min <= max")
    if desired < 0:
        raise BadInput(f"{key_path(where, 'desiredCount')}: {desired} is negative")
    return ServiceTarget(
        name=name,
        service_name=spec["serviceName"],
        critical=spec["critical"],
        scalable_target_resource_id=spec["scalableTargetResourceId"],
        repository_name=spec["repositoryName"],
        alarms=pattern_alarms(name, suffix),
        declared=Declared(spec["cpu"], spec["memory"], desired, low, high, baseline[0], baseline[1]),
        target_groups=tuple(
            group
            for group in (
                _optional_text(spec, k, where) for k in ("targetGroupArnSuffix", "alternateTargetGroupArnSuffix")
            )
            if group
        ),
    )


def _optional_text(data: Dict[str, Any], key: str, where: str) -> Optional[str]:
    """An optional string output: absent or null is None, anything else must be a string."""
    value = data.get(key)
    if value is None:
        return None
    return _check_type(value, str, key_path(where, key))


def pattern_alarms(service: str, suffix: str) -> Tuple[AlarmRef, ...]:
    return tuple(
        AlarmRef(kind, pattern.format(service=service, suffix=suffix), required=False)
        for kind, pattern in ALARM_PATTERNS.items()
    )


def apply_observability_outputs(targets: Targets, data: Any, where: str) -> Targets:
    """Replace pattern-derived alarm names with the ones the observability stack exported."""
    require_keys(data, {"alarms": dict}, where)
    services = dict(targets.services)
    for name, kinds in data["alarms"].items():
        if name not in services:
            continue  # the observability layer may watch services this run does not touch
        spot = f"{where}: alarms.{name}"
        if not isinstance(kinds, dict):
            raise BadInput(f"{spot}: expected an object, got {json.dumps(kinds)[:60]}")
        missing = [k for k in REQUIRED_ALARM_KINDS if k not in kinds]
        if missing:
            raise BadInput(f"{spot}: missing key {', '.join(missing)}")
        refs = []
        for kind, ref in kinds.items():
            if kind not in ALARM_PATTERNS:
                raise BadInput(f"{spot}: unknown alarm kind {kind} (known: {', '.join(ALARM_PATTERNS)})")
            if ref is None:
                continue
            require_keys(ref, {"name": str}, key_path(spot, kind))
            refs.append(AlarmRef(kind, ref["name"], required=True))
        services[name] = replace(services[name], alarms=tuple(refs))
    return replace(targets, services=services)


def load_outputs_file(path: str) -> Targets:
    return parse_compute_outputs(read_json_file(path), path)


def find_compute_dir(start: Optional[Path] = None) -> Path:
    """``stacks/compute`` in the working directory or the nearest parent that has one."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "stacks" / "compute").is_dir():
            return candidate / "stacks" / "compute"
    return here


def load_stack(stack: str, runner: Any = subprocess.run) -> Targets:
    """Run ``pulumi stack output --json`` for the compute stack; failures are bad input."""
    if shutil.which("pulumi") is None:
        raise BadInput("--stack needs the pulumi CLI on PATH (not found); pass --outputs FILE instead")
    cmd = ["pulumi", "stack", "output", "--json", "--show-secrets=false", "--stack", stack]
    cwd = find_compute_dir()
    log.info("reading outputs: %s (in %s)", " ".join(cmd), cwd)
    proc = runner(cmd, cwd=str(cwd), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        first = (proc.stderr or proc.stdout or "").strip().splitlines()
        raise BadInput(
            f"pulumi stack output --stack {stack} failed: {first[0] if first else 'exit ' + str(proc.returncode)}"
        )
    where = f"stack {stack}"
    return parse_compute_outputs(parse_json(proc.stdout, where), where)
