"""The values a run applied, per service, and the state it left each service in: plain data
the levers fill in (:meth:`levers.base.Lever.applied`) and read back for the config keys
(:meth:`levers.base.Lever.settings`); :mod:`.applied` builds it from results or a journal."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Mapping, Optional, Tuple

from ..core.model import ServiceState


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
        """Whether no lever changed anything (every value None, no threshold)."""
        values = [getattr(self, f.name) for f in fields(self) if f.name not in ("service", "critical")]
        return all(v is None or v == {} for v in values)


@dataclass(frozen=True)
class AppliedRun:
    """What a run applied, and the state it left each service of the run in (``final``, where
    known: a layer-wide key also reaches the services whose value the run did not change)."""

    tier: str
    services: Mapping[str, AppliedService]
    final: Mapping[str, ServiceState] = field(default_factory=dict)
