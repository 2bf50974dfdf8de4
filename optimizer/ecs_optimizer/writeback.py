"""Keep the Pulumi stacks' config in step with what ``optimize`` applied (no drift).

The optimizer changes live resources that Pulumi manages, so without this the next ``pulumi
up`` of the compute layer would put the old sizes back. After a run, every value it applied
is recorded in the layers' own config keys:

* compute: ``compute:services.<svc>.sizes.<tier>.{cpu,memory}``, ``.desiredCount``,
  ``.minCapacity``, ``.maxCapacity`` and the layer-wide ``compute:spotShare``; with a size,
  ``.rightsizedFrom.<tier>.{cpu,memory}``: the size before rightsizing, which the compute
  stack exports as ``baselineCpu``/``baselineMemory`` so the ``fixed`` policy halves from it
  and not from the size it already halved. It is written only when the file does not set it
  yet, so it keeps the ORIGINAL size across runs (``export-config`` prints it every time: a
  stack that already sets it should keep its value);
* registry: the layer-wide ``registry:keepImages``;
* observability: ``observability:thresholds.<svc>.{cpuHigh,memoryHigh}`` (the running-tasks-low
  threshold follows compute's ``minCapacity`` by itself; unhealthy-hosts and 5xx do not
  depend on task size).

Two ways out: ``optimize --write-config FILE`` edits stack files (``Pulumi.<stack>.yaml``)
with a round-trip YAML parser, so comments, key order, quoting and unrelated keys survive,
and journals each file's text before and after, so ``rollback`` puts the file back byte for
byte; ``export-config`` prints the same keys as ``pulumi config set --path`` commands for
config kept elsewhere.

Per-tier counts: the catalog takes ``desiredCount`` (and min/max) as one number for both tiers
or as ``{dev, prod}``. Only the run's tier is written: an absent value becomes ``{<tier>: n}``
(the other tier keeps the program's default), a map gets its ``<tier>`` entry, and a plain
number ``m`` that differs becomes ``{dev: .., prod: ..}`` with ``m`` kept for the other tier.

Layer-wide keys (Spot share, ECR keep count) are written only when every service the run
changed agrees on the value; the report names services outside the run that the key will
move on the next ``pulumi up``.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shlex
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, NoReturn, Optional, Protocol, Sequence, Tuple, Union

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from .errors import BadInput
from .journal import ALARM_PREFIX, CONFIG_FILE, Change, JournalContents, realised_states, restore_plan
from .model import ServiceState
from .render import truncate
from .targets import ALARM_PATTERNS, TIERS

log = logging.getLogger(__name__)

#: Layers whose config the optimizer writes, in dependency order.
WRITABLE_LAYERS = ("registry", "compute", "observability")
#: Every layer a stack file may belong to. The network layer's keys are written only one
#: migration step at a time, by ``savings --migration-step`` (see :mod:`network_steps`).
KNOWN_LAYERS = ("network",) + WRITABLE_LAYERS

SERVICES_KEY = "compute:services"
SPOT_SHARE_KEY = "compute:spotShare"
KEEP_IMAGES_KEY = "registry:keepImages"
THRESHOLDS_KEY = "observability:thresholds"

#: The compute layer's accepted Spot share range (stacks/compute/settings.ts).
SPOT_SHARE_RANGE = (Fraction(7, 10), Fraction(1))
#: Alarm kinds whose threshold is per-service config; the others follow other settings.
THRESHOLD_KINDS = ("cpuHigh", "memoryHigh")
#: Catalog fields given as one number for every tier or as a map of tiers.
PER_TIER_FIELDS = ("desiredCount", "minCapacity", "maxCapacity")

#: Top-level keys of a Pulumi stack file; anything else means the file is not one.
STACK_FILE_KEYS = frozenset({"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"})
_PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")

Number = Union[int, float]
KeyPath = Tuple[str, ...]


# ----------------------------------------------------------------------------- what was applied


@dataclass(frozen=True)
class AppliedService:
    """The values one service was changed to (None: that value did not change)."""

    service: str
    critical: bool
    size: Optional[Tuple[int, int]] = None  # (cpu units, MiB)
    desired_count: Optional[int] = None
    min_capacity: Optional[int] = None
    max_capacity: Optional[int] = None
    spot_share: Optional[Fraction] = None  # FARGATE_SPOT share above the on-demand base
    keep_images: Optional[int] = None
    thresholds: Mapping[str, float] = field(default_factory=dict)  # cpuHigh / memoryHigh
    #: With ``size``: the size before rightsizing (the baseline the run halved or sized from).
    rightsized_from: Optional[Tuple[int, int]] = None
    #: The CPU architecture the run moved the service to (``--allow-arm64``).
    architecture: Optional[str] = None

    @property
    def empty(self) -> bool:
        return not any(
            v is not None
            for v in (self.size, self.desired_count, self.min_capacity, self.max_capacity, self.spot_share, self.keep_images,
                      self.architecture)
        ) and not self.thresholds


@dataclass(frozen=True)
class AppliedRun:
    """What a run applied, and the state it left each service of the run in (``final``, where
    known: a layer-wide key also reaches the services whose value the run did not change)."""

    tier: str
    services: Mapping[str, AppliedService]
    final: Mapping[str, ServiceState] = field(default_factory=dict)


def applied_service(
    name: str,
    before: ServiceState,
    after: ServiceState,
    alarm_thresholds: Mapping[str, float],
    baseline: Optional[Tuple[int, int]] = None,
) -> AppliedService:
    """The config-relevant difference between ``before`` and ``after``. ``baseline``: the size
    before any rightsizing (default: ``before``'s size, what a journal or plan knows)."""
    share = None
    resized = (after.cpu, after.memory) != (before.cpu, before.memory)
    if after.strategy != before.strategy and not after.critical and after.strategy.spot_weight:
        share = after.strategy.spot_fraction
    return AppliedService(
        service=name,
        critical=after.critical,
        size=(after.cpu, after.memory) if resized else None,
        desired_count=after.desired_count if after.desired_count != before.desired_count else None,
        min_capacity=after.min_capacity if after.min_capacity != before.min_capacity else None,
        max_capacity=after.max_capacity if after.max_capacity != before.max_capacity else None,
        spot_share=share,
        keep_images=after.ecr_keep_images if after.ecr_keep_images != before.ecr_keep_images else None,
        thresholds={k: float(v) for k, v in alarm_thresholds.items() if k in THRESHOLD_KINDS},
        rightsized_from=(baseline or (before.cpu, before.memory)) if resized else None,
        architecture=after.architecture if after.architecture != before.architecture else None,
    )


def applied_run(
    tier: str,
    rows: Iterable[Tuple[str, ServiceState, ServiceState, Mapping[str, float], bool]],
    baselines: Optional[Mapping[str, Tuple[int, int]]] = None,
) -> AppliedRun:
    """Build an :class:`AppliedRun` from ``(name, before, after, alarm thresholds, applied)``
    rows: engine results, a fleet plan or a journal all reduce to these. ``baselines``: service
    -> size before rightsizing, where known (else the row's before size)."""
    services: Dict[str, AppliedService] = {}
    final: Dict[str, ServiceState] = {}
    for name, before, after, thresholds, applied in rows:
        svc = applied_service(name, before, after, thresholds, (baselines or {}).get(name)) if applied else None
        if svc is not None and not svc.empty:
            services[name] = svc
        final[name] = after if applied else before
    return AppliedRun(tier, dict(sorted(services.items())), dict(sorted(final.items())))


class ResultLike(Protocol):
    """What :func:`applied_from_results` reads of an engine ``ServiceResult`` (the engine is
    not imported here: it imports the restorer, which imports this module)."""

    service: str
    status: str
    before: ServiceState
    after: ServiceState
    alarm_thresholds: Dict[str, float]
    baseline: Optional[Tuple[int, int]]


def applied_from_results(tier: str, results: Iterable[ResultLike], dry_run: bool = False) -> AppliedRun:
    """What an optimize run applied (``applied`` services), or for a dry run what it would
    (``planned``). A ``failed`` service (its restore failed) is left out: its state is unknown."""
    wanted = "planned" if dry_run else "applied"
    kept = [r for r in results if r.status != "failed"]
    rows = [(r.service, r.before, r.after, r.alarm_thresholds, r.status == wanted) for r in kept]
    baselines = {r.service: b for r in kept if (b := getattr(r, "baseline", None)) is not None}
    return applied_run(tier, rows, baselines)


def alarm_kind(step_target: Mapping[str, Any], alarm_name: str) -> Optional[str]:
    """The kind of a journalled alarm: recorded in its target, else read from the naming
    pattern of the observability layer (journals written before the kind was recorded)."""
    kind = step_target.get("kind")
    if isinstance(kind, str):
        return kind
    for candidate, pattern in ALARM_PATTERNS.items():
        if alarm_name.startswith(pattern.split("{service}", 1)[0]):
            return candidate
    return None


def applied_from_journal(contents: JournalContents, tier: str) -> AppliedRun:
    """What a finished run applied, from its journal: each field's latest value where it
    differs from the earliest (a service rolled back nets to nothing)."""
    before, after = realised_states(contents)
    thresholds: Dict[str, Dict[str, float]] = {}
    for step in restore_plan([c for c in contents.changes if c.resource.startswith(ALARM_PREFIX)]):
        old, new = step.before.get("threshold"), step.after.get("threshold")
        kind = alarm_kind(step.target, step.resource[len(ALARM_PREFIX):])
        if kind in THRESHOLD_KINDS and new is not None and (old is None or abs(float(old) - float(new)) > 1e-9):
            thresholds.setdefault(step.service, {})[kind] = float(new)
    rows = [(name, before[name], after[name], thresholds.get(name, {}), True) for name in before]
    return applied_run(tier, rows)


# ----------------------------------------------------------------------------- keys to write


@dataclass(frozen=True)
class Setting:
    """One config key to set: ``path`` starts with the fully qualified key (``compute:services``)
    and walks into its value. ``per_tier``: the parent may be one number for every tier."""

    layer: str
    path: KeyPath
    #: a string for the compute catalog's ``architecture`` and ``network:natStrategy``, a list of
    #: strings for ``network:interfaceEndpoints``
    value: Union[Number, str, List[str]]
    service: Optional[str] = None
    per_tier: bool = False
    #: Written only when the file does not set the key's parent yet (``rightsizedFrom.<tier>``:
    #: the first rightsizing's size is kept, never replaced by an already-reduced one).
    only_if_unset: bool = False

    @property
    def key(self) -> str:
        return property_path(self.path)


def property_path(path: Sequence[str]) -> str:
    """The key as ``pulumi config set --path`` reads it: ``a.b.c``, with ``["x.y"]`` for
    segments a dot-separated path cannot carry."""
    out = path[0]
    for part in path[1:]:
        out += f".{part}" if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'["{part}"]'
    return out


def plain_number(value: Union[Number, Fraction]) -> Number:
    """An int when the value is whole (60.0 -> 60, as the layers' validators want), else a float."""
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


@dataclass
class KeyPlan:
    """The keys a run's values map onto (registry, compute, observability; then by service),
    and why any value is not among them."""

    settings: List[Setting]
    notes: List[str]

    def for_layer(self, layer: str) -> List[Setting]:
        return [s for s in self.settings if s.layer == layer]


def _layer_wide(
    key: str,
    what: str,
    changed: Mapping[str, Any],
    others: Mapping[str, Any],
    show: Callable[[Any], str],
    notes: List[str],
) -> Optional[Any]:
    """The one value a layer-wide key can take, or None (with a note) when the services the
    run changed disagree. Services outside the change that the key will move are noted."""
    if not changed:
        return None
    distinct = sorted(set(changed.values()))
    if len(distinct) > 1:
        listed = ", ".join(f"{n} {show(v)}" for n, v in sorted(changed.items()))
        notes.append(f"{key} not written: the services ended at different {what} ({listed}); the key is one value for the layer")
        return None
    value = distinct[0]
    moved = [f"{n} ({show(v)})" for n, v in sorted(others.items()) if v != value]
    if moved:
        notes.append(f"{key} = {show(value)} is layer-wide: {', '.join(moved)} will move to it on the next pulumi up")
    return value


def plan_keys(run: AppliedRun) -> KeyPlan:
    """The config keys that record ``run``, in layer order, then service order."""
    tier = run.tier
    if tier not in TIERS:
        raise BadInput(f"tier {tier!r} is not one of: {', '.join(TIERS)}")
    notes: List[str] = []
    compute: List[Setting] = []
    observability: List[Setting] = []
    for name, svc in run.services.items():
        entry = (SERVICES_KEY, name)
        if svc.size is not None:
            compute += [
                Setting("compute", entry + ("sizes", tier, "cpu"), svc.size[0], name),
                Setting("compute", entry + ("sizes", tier, "memory"), svc.size[1], name),
            ]
            if svc.rightsized_from is not None:
                compute += [
                    Setting("compute", entry + ("rightsizedFrom", tier, "cpu"), svc.rightsized_from[0], name, only_if_unset=True),
                    Setting("compute", entry + ("rightsizedFrom", tier, "memory"), svc.rightsized_from[1], name, only_if_unset=True),
                ]
        if svc.architecture is not None:
            compute.append(Setting("compute", entry + ("architecture",), svc.architecture, name))
        for fieldname, value in zip(PER_TIER_FIELDS, (svc.desired_count, svc.min_capacity, svc.max_capacity)):
            if value is not None:
                compute.append(Setting("compute", entry + (fieldname, tier), value, name, per_tier=True))
        for kind, threshold in sorted(svc.thresholds.items()):
            observability.append(Setting("observability", (THRESHOLDS_KEY, name, kind), plain_number(threshold), name))

    share_text = lambda v: f"{float(v):g}"  # noqa: E731
    spot_changed = {n: s.spot_share for n, s in run.services.items() if s.spot_share is not None}
    spot_others = {n: st.strategy.spot_fraction for n, st in run.final.items() if not st.critical and n not in spot_changed}
    share = _layer_wide(SPOT_SHARE_KEY, "Spot shares", spot_changed, spot_others, share_text, notes)
    if share is not None and not SPOT_SHARE_RANGE[0] <= share <= SPOT_SHARE_RANGE[1]:
        notes.append(f"{SPOT_SHARE_KEY} not written: {share_text(share)} is outside the compute layer's range 0.7-1")
        share = None
    if share is not None:
        compute.append(Setting("compute", (SPOT_SHARE_KEY,), plain_number(share)))

    keep_changed = {n: s.keep_images for n, s in run.services.items() if s.keep_images is not None}
    keep_others = {n: st.ecr_keep_images for n, st in run.final.items() if n not in keep_changed}
    keep = _layer_wide(KEEP_IMAGES_KEY, "ECR keep counts", keep_changed, keep_others, lambda v: "none" if v is None else str(v), notes)
    registry = [Setting("registry", (KEEP_IMAGES_KEY,), keep)] if keep is not None else []
    return KeyPlan(registry + compute + observability, notes)


# ----------------------------------------------------------------------------- stack files


class _Missing:
    """Marks an absent key (distinct from an explicit null)."""


MISSING: Any = _Missing()


@dataclass
class StackFile:
    """A validated stack file and the layer it configures."""

    path: Path
    layer: str
    text: str


def _read_text(path: Path) -> str:
    # newline="" keeps CRLF line ends as they are, so a restore is byte for byte.
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _new_yaml(mapping: int, offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


def _dump(yaml: YAML, doc: Any) -> str:
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _indent_candidates(text: str) -> List[Tuple[int, int]]:
    """(mapping indent, sequence dash offset) pairs, the file's own style first."""
    mapping = 2
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if stripped and not stripped.startswith(("#", "-")) and line != stripped:
            mapping = len(line) - len(stripped)
            break
    pairs = [(mapping, 0), (mapping, mapping), (mapping, 2), (2, 0), (2, 2), (4, 0), (4, 2), (4, 4)]
    return list(dict.fromkeys(pairs))


class StackDocument:
    """A stack file parsed for round-trip editing, with the YAML style that reproduces it
    (indentation, and CRLF line ends, which the parser would otherwise mix with LF)."""

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self.original = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        text = text.replace("\r\n", "\n")
        best: Optional[Tuple[int, YAML, Any]] = None
        try:
            for mapping, offset in _indent_candidates(text):
                yaml = _new_yaml(mapping, offset)
                doc = yaml.load(text)
                if doc is None:
                    best = (0, yaml, None)
                    break
                rendered = _dump(yaml, doc)
                differing = sum(1 for a, b in zip(rendered.splitlines(), text.splitlines()) if a != b)
                differing += abs(len(rendered.splitlines()) - len(text.splitlines()))
                if best is None or differing < best[0]:
                    best = (differing, yaml, doc)
                if differing == 0:
                    break
        except YAMLError as exc:
            raise BadInput(f"{where}: not valid YAML: {_first_line(exc)}") from exc
        assert best is not None
        _, self.yaml, self.doc = best

    @property
    def config(self) -> Any:
        if self.doc is None:
            return MISSING
        return self.doc.get("config", MISSING)

    def attach_config(self, config: CommentedMap) -> None:
        """Install a ``config:`` map built from scratch (the file had none, or a null one)."""
        if self.doc is None:
            self.doc = CommentedMap([("config", config)])
        elif "config" in self.doc:
            self.doc["config"] = config
        else:
            _set_key(self.doc, "config", config)

    def render(self) -> str:
        if self.doc is None:
            return self.original
        return _dump(self.yaml, self.doc).replace("\n", self.newline)


def _first_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return truncate(text, 200)


def _layer_of(path: Path, config: Any) -> str:
    """The layer a stack file configures: the ``name:`` of the Pulumi.yaml beside it, else the
    one layer namespace its keys use."""
    for project in _PROJECT_FILES:
        project_file = path.parent / project
        if project_file.is_file():
            try:
                data = YAML(typ="safe").load(project_file.read_text(encoding="utf-8"))
            except (OSError, YAMLError, UnicodeDecodeError) as exc:
                why = f"cannot read the project file beside {path.name}: {_first_line(exc)}"
                raise BadInput(f"{project_file}: {why}") from exc
            name = data.get("name") if isinstance(data, dict) else None
            if name not in KNOWN_LAYERS:
                layers = ", ".join(KNOWN_LAYERS)
                raise BadInput(f"{path}: its project ({project_file}) is {name!r}, not one of the layers {layers}")
            return str(name)
    prefixes = sorted({str(k).split(":", 1)[0] for k in (config if isinstance(config, dict) else {})} & set(KNOWN_LAYERS))
    if len(prefixes) != 1:
        found = ", ".join(prefixes) or "none"
        raise BadInput(
            f"{path}: cannot tell which layer it configures (layer key prefixes found: {found}); keep it beside "
            "its layer's Pulumi.yaml or give it at least one <layer>:key"
        )
    return prefixes[0]


def _validate_shapes(doc: StackDocument, layer: str) -> None:
    """Refuse, before any change, a file whose keys the write-back would have to guess about."""
    config = doc.config if isinstance(doc.config, dict) else {}
    where = doc.where

    def fail(key: str, value: Any, expected: str) -> NoReturn:
        raise BadInput(f"{where}: {key} = {_show(value)}: expected {expected}")

    def is_map(value: Any) -> bool:
        return isinstance(value, dict)

    if layer == "compute":
        services = config.get(SERVICES_KEY, MISSING)
        if isinstance(services, str):
            why = "a YAML map (a JSON string cannot be edited in place; set it with pulumi config set --path)"
            fail(SERVICES_KEY, services, why)
        if services not in (MISSING, None) and not is_map(services):
            fail(SERVICES_KEY, services, "a map of service name -> settings")
        for name, entry in (services.items() if is_map(services) else []):
            at = f"{SERVICES_KEY}.{name}"
            if entry is not None and not is_map(entry):
                fail(at, entry, "a map of settings, or null for a removed service")
            if not is_map(entry):
                continue
            sizes = entry.get("sizes", MISSING)
            if sizes is not MISSING and not is_map(sizes):
                fail(f"{at}.sizes", sizes, "a map of tier -> {cpu, memory}")
            for tier, size in (sizes.items() if is_map(sizes) else []):
                if not is_map(size):
                    fail(f"{at}.sizes.{tier}", size, "a map with cpu and memory")
            origin = entry.get("rightsizedFrom", MISSING)
            if origin not in (MISSING, None) and not is_map(origin):
                fail(f"{at}.rightsizedFrom", origin, "a map of tier -> {cpu, memory} or null")
            for tier, size in (origin.items() if is_map(origin) else []):
                if size is not None and not is_map(size):
                    fail(f"{at}.rightsizedFrom.{tier}", size, "a map with cpu and memory, or null")
            for fieldname in PER_TIER_FIELDS:
                value = entry.get(fieldname, MISSING)
                if value is not MISSING and not is_map(value) and not _is_number(value):
                    fail(f"{at}.{fieldname}", value, "a number or a map of tier -> number")
    if layer == "observability":
        thresholds = config.get(THRESHOLDS_KEY, MISSING)
        if thresholds not in (MISSING, None) and not is_map(thresholds):
            fail(THRESHOLDS_KEY, thresholds, "a map of service name -> {cpuHigh, memoryHigh, http5xx}")
        for name, entry in (thresholds.items() if is_map(thresholds) else []):
            if entry is not None and not is_map(entry):
                fail(f"{THRESHOLDS_KEY}.{name}", entry, "a map with any of cpuHigh, memoryHigh, http5xx")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict) else "a map"
    return truncate(text, 60)


def parse_stack_file(path: Path, text: str) -> Tuple[StackDocument, str]:
    """Parse and check a stack file's text: (document, layer). Anything that is not a
    Pulumi stack file is :class:`BadInput`."""
    doc = StackDocument(text, str(path))
    if doc.doc is not None:
        if not isinstance(doc.doc, dict):
            found = type(doc.doc).__name__
            raise BadInput(f"{path}: not a Pulumi stack file (expected a map with a config: key, found a {found})")
        unknown = sorted(str(k) for k in doc.doc if k not in STACK_FILE_KEYS)
        if unknown:
            project = "name" in unknown or "runtime" in unknown
            hint = " (that is a project file; pass the stack's Pulumi.<stack>.yaml)" if project else ""
            raise BadInput(f"{path}: not a Pulumi stack file: unexpected top-level key {unknown[0]}{hint}")
        config = doc.config
        if config is not MISSING and config is not None and not isinstance(config, dict):
            raise BadInput(f"{path}: config: expected a map of layer:key -> value")
        for key in (config if isinstance(config, dict) else {}):
            if not isinstance(key, str) or not re.fullmatch(r"[^:\s]+:[^:\s]+", key):
                raise BadInput(f"{path}: config key {key!r} is not a fully qualified layer:key")
    layer = _layer_of(path, doc.config if doc.config is not MISSING else {})
    _validate_shapes(doc, layer)
    return doc, layer


def load_stack_file(path: Union[str, Path], layers: Sequence[str] = WRITABLE_LAYERS) -> StackFile:
    """Read and validate one ``--write-config`` file of one of ``layers`` (exit 2 on any
    problem, nothing changed)."""
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"--write-config {path}: no such file (create the stack first: pulumi stack init)")
    try:
        text = _read_text(p)
    except UnicodeDecodeError as exc:
        raise BadInput(f"--write-config {path}: not UTF-8 text") from exc
    except OSError as exc:
        raise BadInput(f"--write-config {path}: cannot read: {exc.strerror or exc}") from exc
    if not os.access(p, os.W_OK):
        raise BadInput(f"--write-config {path}: the file is not writable")
    _, layer = parse_stack_file(p, text)
    if layer not in layers:
        if layer == "network":
            why = "the network layer's keys are written one migration step at a time: savings --migration-step"
        else:
            why = f"expected a stack file of the {', '.join(layers)} layer"
        raise BadInput(f"--write-config {path}: {why}")
    return StackFile(p.resolve(), layer, text)


def load_stack_files(paths: Sequence[str]) -> Dict[str, StackFile]:
    """The ``--write-config`` files by layer; two files for one layer are bad input."""
    files: Dict[str, StackFile] = {}
    for path in paths:
        stack_file = load_stack_file(path)
        if stack_file.layer in files:
            both = f"{files[stack_file.layer].path} and {path}"
            raise BadInput(f"--write-config: {both} are both {stack_file.layer} stack files; pass one per layer")
        files[stack_file.layer] = stack_file
    return files


def check_against_targets(files: Mapping[str, StackFile], tier: str, environment_suffix: Optional[str]) -> None:
    """Refuse files that configure another environment or tier than the run's targets: their
    keys would record one environment's values in another's config."""
    for stack_file in files.values():
        doc, layer = parse_stack_file(stack_file.path, stack_file.text)
        config = doc.config if isinstance(doc.config, dict) else {}
        suffix = config.get(f"{layer}:environmentSuffix")
        if suffix is not None and environment_suffix and str(suffix) != environment_suffix:
            raise BadInput(
                f"--write-config {stack_file.path}: {layer}:environmentSuffix is {suffix}, but the run targets {environment_suffix}"
            )
        if layer == "compute":
            file_tier = str(config.get("compute:tier", "dev"))
            if file_tier != tier:
                where = f"--write-config {stack_file.path}"
                raise BadInput(f"{where}: compute:tier is {file_tier}, but the run targets tier {tier}")


# ----------------------------------------------------------------------------- editing


@dataclass(frozen=True)
class KeyChange:
    key: str
    before: Any
    after: Any

    def to_dict(self) -> Dict[str, Any]:
        return {"key": self.key, "before": self.before, "after": self.after}


@dataclass
class FileEdit:
    """A stack file's text before and after setting the keys, and what changed."""

    path: Path
    layer: str
    before: str
    after: str
    changes: List[KeyChange]
    notes: List[str]


def _tail(mapping: Any) -> Optional[Tuple[CommentedMap, Any]]:
    """The last key of a block map, descending into nested block maps: where the parser hangs
    the comment lines that follow the map."""
    holder = mapping
    while isinstance(holder, CommentedMap) and len(holder):
        key = list(holder.keys())[-1]
        value = holder[key]
        if isinstance(value, CommentedMap) and len(value) and value.fa.flow_style() is not True:
            holder = value
            continue
        return holder, key
    return None


def _set_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """Add ``key`` last. Comment lines that trailed the map's old last entry (a note closing the
    map, or the heading of the next outer key) move below the new entry, where they were
    relative to the rest of the file; an end-of-line comment stays on its line."""
    tail = _tail(mapping)
    mapping[key] = value
    slot = tail[0].ca.items.get(tail[1]) if tail else None
    token = slot[2] if slot and len(slot) > 2 else None
    if token is None:
        return
    end_of_line, _, following = token.value.partition("\n")
    if not following:
        return
    if end_of_line:
        token.value = end_of_line + "\n"
    else:
        slot[2] = None
    new_tail = _tail(mapping)
    assert new_tail is not None
    holder, last = new_tail
    holder.ca.items.setdefault(last, [None, None, None, None])[2] = CommentToken("\n" + following, CommentMark(0), None)


def _styled(old: Any, value: Union[Number, str, List[str]]) -> Any:
    """``value`` in the style of the scalar it replaces: a quoted string stays quoted, and a
    list written ``[a, b]`` stays a flow list."""
    if isinstance(value, list):
        seq = CommentedSeq(value)
        if isinstance(old, CommentedSeq) and old.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(str(value))
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(str(value))
    if isinstance(old, str):
        return str(value)
    return value


def _same(old: Any, value: Union[Number, str, List[str]]) -> bool:
    if isinstance(value, list):
        return isinstance(old, list) and [str(v) for v in old] == value
    if isinstance(value, str):
        return isinstance(old, str) and old == value
    return _is_number(old) and abs(float(old) - float(value)) < 1e-9


def _plain(value: Any) -> Any:
    """A YAML node as plain data, for reports and the journal."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


class Conflict(Exception):
    """The file holds something at a key's path that the value cannot go into."""


def _subtree(path: Sequence[str], value: Number) -> Any:
    """``value`` nested under ``path`` in new block maps (``value`` itself for an empty path)."""
    for key in reversed(path):
        value = CommentedMap([(key, value)])
    return value


def _apply(config: CommentedMap, setting: Setting) -> Optional[KeyChange]:
    """Set one key in ``config``; None when it already holds the value. Missing maps on the
    way are created whole and attached once, so comments that trail the map they join stay
    below them."""
    node: CommentedMap = config
    path = setting.path
    for depth, key in enumerate(path[:-1]):
        child = node.get(key, MISSING)
        if child is MISSING or (child is None and (depth == 0 or setting.only_if_unset)):
            subtree = _subtree(path[depth + 1 :], setting.value)
            if child is None:
                node[key] = subtree
            else:
                _set_key(node, key, subtree)
            return KeyChange(setting.key, None, setting.value)
        if child is None:
            why = "removed from the catalog with null" if path[0] == SERVICES_KEY and depth == 1 else "null"
            raise Conflict(f"{property_path(path[: depth + 1])} is {why}; not written")
        if not isinstance(child, dict):
            if not (setting.per_tier and depth == len(path) - 2 and _is_number(child)):
                raise Conflict(f"{property_path(path[: depth + 1])} holds {_show(child)}, not a map; not written")
            if _same(child, setting.value):
                return None
            # One number for every tier: keep it for the other tiers, change only the run's.
            expanded = CommentedMap((tier, _styled(child, plain_number(float(child)))) for tier in TIERS)
            expanded[path[-1]] = setting.value
            before = _plain(child)
            node[key] = expanded
            return KeyChange(property_path(path[: depth + 1]), before, _plain(expanded))
        node = child
    leaf = path[-1]
    old = node.get(leaf, MISSING)
    if old is not MISSING and _same(old, setting.value):
        return None
    if old is MISSING:
        _set_key(node, leaf, setting.value)
    else:
        node[leaf] = _styled(old, setting.value)
    return KeyChange(setting.key, None if old is MISSING else _plain(old), setting.value)


def _lookup(config: Any, path: Sequence[str]) -> Any:
    """The value at ``path`` in ``config``; MISSING when any step is absent or not a map."""
    node = config
    for key in path:
        if not isinstance(node, dict):
            return MISSING
        node = node.get(key, MISSING)
        if node is MISSING:
            return MISSING
    return node


def config_value(stack_file: StackFile, path: Sequence[str]) -> Any:
    """The value at ``path`` (starting with the qualified key) in the file as it is now, as
    plain data; None when it is absent."""
    doc, _ = parse_stack_file(stack_file.path, _read_text(stack_file.path))
    value = _lookup(doc.config, path)
    return None if value is MISSING else _plain(value)


def edit_text(path: Path, text: str, settings: Sequence[Setting]) -> FileEdit:
    """The file's text with ``settings`` applied (pure: nothing is written). A key that cannot
    be set (a service removed from the catalog with null) is skipped with a note."""
    doc, layer = parse_stack_file(path, text)
    changes: List[KeyChange] = []
    notes: List[str] = []
    mine = [s for s in settings if s.layer == layer]
    existing = doc.config
    config = existing if isinstance(existing, CommentedMap) else CommentedMap()
    if not len(config):
        config.fa.set_block_style()  # `config: {}` grows as a block, like the rest of the file
    # Decided on the file as it was: writing `rightsizedFrom.<tier>.cpu` must not make its
    # `.memory` look already set.
    already_set = {s.path[:-1] for s in mine if s.only_if_unset and _lookup(config, s.path[:-1]) not in (MISSING, None)}
    for setting in mine:
        if setting.path[:-1] in already_set:
            continue
        try:
            change = _apply(config, setting)
        except Conflict as exc:
            notes.append(f"{path.name}: {exc}")
            continue
        if change is not None:
            changes.append(change)
    if changes and config is not existing:
        doc.attach_config(config)
    after = doc.render() if changes else text
    return FileEdit(path, layer, text, after, changes, notes)


# ----------------------------------------------------------------------------- writing


@dataclass
class FileReport:
    path: str
    layer: str
    status: str  # written | unchanged | planned (dry run) | failed
    changes: List[KeyChange]
    error: str = ""

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "path": self.path,
            "layer": self.layer,
            "status": self.status,
            "changes": [c.to_dict() for c in self.changes],
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class WriteBackReport:
    """What ``--write-config`` did: per file, the keys set; per layer without a file, the keys
    that were not written; and notes (layer-wide values, services removed from the catalog)."""

    files: List[FileReport] = field(default_factory=list)
    unwritten: Dict[str, List[str]] = field(default_factory=dict)  # layer -> keys
    notes: List[str] = field(default_factory=list)

    @property
    def failed(self) -> List[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "notWritten": [
                {"layer": layer, "reason": "no --write-config file for this layer", "keys": keys}
                for layer, keys in self.unwritten.items()
            ],
            "notes": list(self.notes),
        }


def _atomic_write(path: Path, text: str) -> None:
    """Replace the file's content in one step (a crash leaves the old or the new file, never
    half of one), keeping its permissions."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


Recorder = Callable[[Change], None]


def file_change(path: Path, layer: str, before: str, after: str) -> Change:
    """The journal line of a file edit (a file spans services, so it names none)."""
    return Change("", CONFIG_FILE, "text", before, after, {"path": str(path), "layer": layer})


def write_back(
    files: Mapping[str, StackFile],
    run: AppliedRun,
    record: Optional[Recorder] = None,
    dry_run: bool = False,
) -> WriteBackReport:
    """Set the keys that record ``run`` in ``files`` (layer -> stack file). Each edit is
    journalled through ``record`` before the file is replaced; ``dry_run`` only reports."""
    plan = plan_keys(run)
    report = WriteBackReport(notes=list(plan.notes))
    for layer in WRITABLE_LAYERS:
        settings = plan.for_layer(layer)
        stack_file = files.get(layer)
        if stack_file is None:
            if settings:
                report.unwritten[layer] = [s.key for s in settings]
            continue
        file_report, notes = write_file(stack_file, settings, record, dry_run)
        report.notes += notes
        report.files.append(file_report)
    for layer, keys in report.unwritten.items():
        log.warning("%d %s key(s) not written: no --write-config file for the %s layer", len(keys), layer, layer)
    return report


def write_file(
    stack_file: StackFile,
    settings: Sequence[Setting],
    record: Optional[Recorder] = None,
    dry_run: bool = False,
) -> Tuple[FileReport, List[str]]:
    """Set ``settings`` in one stack file: the edit is journalled through ``record`` before the
    file is replaced (atomically); ``dry_run`` only reports. Returns the file's report and notes."""
    path, layer = stack_file.path, stack_file.layer
    try:
        # The file as it is now (not as validated before the run): nobody's edit is lost.
        edit = edit_text(path, _read_text(path), settings)
    except (OSError, UnicodeDecodeError, BadInput) as exc:
        log.error("config write-back to %s failed: %s", path, exc)
        return FileReport(str(path), layer, "failed", [], str(exc)), []
    if dry_run or not edit.changes:
        status = "planned" if dry_run and edit.changes else "unchanged"
        return FileReport(str(path), layer, status, edit.changes), edit.notes
    try:
        if record is not None:
            record(file_change(path, layer, edit.before, edit.after))
        _atomic_write(path, edit.after)
    except OSError as exc:
        log.error("config write-back to %s failed: %s", path, exc)
        return FileReport(str(path), layer, "failed", edit.changes, f"{exc.strerror or exc}"), edit.notes
    for change in edit.changes:
        before = "(absent)" if change.before is None else _show(change.before)
        log.info("%s: %s %s -> %s", path.name, change.key, before, _show(change.after))
    return FileReport(str(path), layer, "written", edit.changes), edit.notes


# ----------------------------------------------------------------------------- restoring


@dataclass
class FileRestore:
    path: str
    layer: str
    status: str  # restored | planned (dry run) | unchanged | failed
    reason: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"path": self.path, "layer": self.layer, "status": self.status, "reason": self.reason}


def config_file_changes(changes: Iterable[Change]) -> List[Change]:
    return [c for c in changes if c.resource == CONFIG_FILE]


def restore_files(changes: Sequence[Change], dry_run: bool = False) -> List[FileRestore]:
    """Put each edited file back to its text before the run, newest edit first.

    A file already at that text is left alone (a second rollback changes nothing). A file
    edited since the run (neither the run's text nor the original) is not overwritten: that
    would lose someone's work; it is reported as failed and the journal holds the text.
    """
    out: List[FileRestore] = []
    for step in restore_plan(config_file_changes(changes)):
        path = Path(step.target["path"])
        layer = str(step.target.get("layer", ""))
        original, written = step.before["text"], step.after["text"]
        try:
            current = _read_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            out.append(FileRestore(str(path), layer, "failed", f"cannot read: {exc}"))
            continue
        if current == original:
            out.append(FileRestore(str(path), layer, "unchanged", "already at its text before the run"))
        elif current != written:
            why = "edited since the run; not overwritten (the journal holds its text before the run)"
            out.append(FileRestore(str(path), layer, "failed", why))
        elif dry_run:
            out.append(FileRestore(str(path), layer, "planned"))
        else:
            try:
                _atomic_write(path, original)
            except OSError as exc:
                out.append(FileRestore(str(path), layer, "failed", f"cannot write: {exc.strerror or exc}"))
                continue
            log.info("%s: restored to its text before the run", path)
            out.append(FileRestore(str(path), layer, "restored"))
    return out


# ----------------------------------------------------------------------------- export


def _value_args(setting: Setting) -> List[str]:
    """The value argument, with ``--type float`` where a nested non-integer would otherwise be
    stored as a string (with ``--path`` only integers and booleans keep their type)."""
    text = str(setting.value)
    if isinstance(setting.value, float) and len(setting.path) > 1:
        return ["--type", "float", text]
    return [text]


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def export_command(setting: Setting, stack: str, stacks_dir: str = "stacks") -> str:
    """The ``pulumi config set --path`` command for one key, naming its stack and its project
    directory (``--cwd <stacks_dir>/<layer>``), so it needs no ``cd``."""
    value = " ".join(shlex.quote(a) for a in _value_args(setting))
    cwd = shlex.quote(str(Path(stacks_dir) / setting.layer))
    return f"pulumi config set --path {_single_quoted(setting.key)} {value} --stack {shlex.quote(stack)} --cwd {cwd}"


def export_lines(plan: KeyPlan, stack: str, stacks_dir: str = "stacks") -> List[str]:
    """One command per key (layers in dependency order), after the notes as ``#`` comments,
    so the output can be piped to a shell as it is."""
    lines = [f"# {note}" for note in plan.notes]
    if any(s.per_tier for s in plan.settings):
        lines.append(
            "# counts are set for one tier (<field>.<tier>); where a count holds one number for both tiers, "
            "replace it with a {dev, prod} map first"
        )
    return lines + [export_command(s, stack, stacks_dir) for s in plan.settings]
