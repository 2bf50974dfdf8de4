"""Reading and checking Pulumi stack files (``Pulumi.<stack>.yaml``) with a round-trip YAML parser."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, NoReturn, Optional, Sequence, Tuple, Union

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from ..core import facts
from ..core.errors import BadInput
from ..output.render import truncate
from .keys import (
    KNOWN_LAYERS,
    PER_TIER_FIELDS,
    PROJECT_FILES,
    RIGHTSIZED_FROM_FIELD,
    SERVICES_KEY,
    SIZES_FIELD,
    STACK_FILE_KEYS,
    TASK_SIZE_KEYS,
    THRESHOLD_KINDS,
    THRESHOLDS_KEY,
    WRITABLE_LAYERS,
)


class _Missing:
    """Marks an absent key (distinct from an explicit null)."""


MISSING: Any = _Missing()


@dataclass
class StackFile:
    """A validated stack file and the layer it configures."""

    path: Path
    layer: str
    text: str


def read_text(path: Path) -> str:
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
            set_key(self.doc, "config", config)

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
    for project in PROJECT_FILES:
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
    prefixes = sorted(
        {str(k).split(":", 1)[0] for k in (config if isinstance(config, dict) else {})} & set(KNOWN_LAYERS)
    )
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
        raise BadInput(f"{where}: {key} = {show_value(value)}: expected {expected}")

    def is_map(value: Any) -> bool:
        return isinstance(value, dict)

    size_keys = ", ".join(TASK_SIZE_KEYS)
    kinds = ", ".join(THRESHOLD_KINDS)
    if layer == "compute":
        services = config.get(SERVICES_KEY, MISSING)
        if isinstance(services, str):
            why = "a YAML map (a JSON string cannot be edited in place; set it with pulumi config set --path)"
            fail(SERVICES_KEY, services, why)
        if services not in (MISSING, None) and not is_map(services):
            fail(SERVICES_KEY, services, "a map of service name -> settings")
        for name, entry in services.items() if is_map(services) else []:
            at = f"{SERVICES_KEY}.{name}"
            if entry is not None and not is_map(entry):
                fail(at, entry, "a map of settings, or null for a removed service")
            if not is_map(entry):
                continue
            sizes = entry.get(SIZES_FIELD, MISSING)
            if sizes is not MISSING and not is_map(sizes):
                fail(f"{at}.{SIZES_FIELD}", sizes, f"a map of tier -> {{{size_keys}}}")
            for tier, size in sizes.items() if is_map(sizes) else []:
                if not is_map(size):
                    fail(f"{at}.{SIZES_FIELD}.{tier}", size, f"a map with {size_keys}")
            origin = entry.get(RIGHTSIZED_FROM_FIELD, MISSING)
            if origin not in (MISSING, None) and not is_map(origin):
                fail(f"{at}.{RIGHTSIZED_FROM_FIELD}", origin, f"a map of tier -> {{{size_keys}}} or null")
            for tier, size in origin.items() if is_map(origin) else []:
                if size is not None and not is_map(size):
                    fail(f"{at}.{RIGHTSIZED_FROM_FIELD}.{tier}", size, f"a map with {size_keys}, or null")
            for fieldname in PER_TIER_FIELDS:
                value = entry.get(fieldname, MISSING)
                if value is not MISSING and not is_map(value) and not is_number(value):
                    fail(f"{at}.{fieldname}", value, "a number or a map of tier -> number")
    if layer == "observability":
        thresholds = config.get(THRESHOLDS_KEY, MISSING)
        if thresholds not in (MISSING, None) and not is_map(thresholds):
            fail(THRESHOLDS_KEY, thresholds, f"a map of service name -> {{{kinds}}}")
        for name, entry in thresholds.items() if is_map(thresholds) else []:
            if entry is not None and not is_map(entry):
                fail(f"{THRESHOLDS_KEY}.{name}", entry, f"a map with any of {kinds}")


def is_number(value: Any) -> bool:
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


def show_value(value: Any) -> str:
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
        for key in config if isinstance(config, dict) else {}:
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
        text = read_text(p)
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
            file_tier = str(config.get(facts.config_key("compute", "tier"), facts.default_tier()))
            if file_tier != tier:
                where = f"--write-config {stack_file.path}"
                raise BadInput(f"{where}: compute:tier is {file_tier}, but the run targets tier {tier}")


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


def set_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """Add ``key`` last. Comment lines that trailed the map's old last entry (a note closing the
    map, or the heading of the next outer key) move below the new entry, where they were
    relative to the rest of the file; an end-of-line comment stays on its line."""
    tail = _tail(mapping)
    mapping[key] = value
    slot: Any = tail[0].ca.items.get(tail[1]) if tail else None
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
