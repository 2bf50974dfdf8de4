"""Config keys the write-back touches, the layers it writes, and the value shapes they take."""

from __future__ import annotations

from fractions import Fraction
from typing import Tuple, Union

from ..core import facts

#: Layers whose config the optimizer writes, in dependency order.
WRITABLE_LAYERS = ("registry", "compute", "observability")
#: Every layer a stack file may belong to. The network layer's keys are written only one
#: migration step at a time, by ``savings --migration-step`` (see :mod:`network_steps`).
KNOWN_LAYERS = ("network",) + WRITABLE_LAYERS

SERVICES_KEY = facts.config_key("compute", "services")
SPOT_SHARE_KEY = facts.config_key("compute", "spotShare")
KEEP_IMAGES_KEY = facts.config_key("registry", "keepImages")
THRESHOLDS_KEY = facts.config_key("observability", "thresholds")

#: The compute layer's accepted Spot share range, as the platform facts state it.
SPOT_SHARE_RANGE: Tuple[Fraction, Fraction] = (
    Fraction(str(facts.spot_share_range()[0])),
    Fraction(str(facts.spot_share_range()[1])),
)
#: Alarm kinds whose threshold is per-service config; the others follow other settings.
THRESHOLD_KINDS = facts.threshold_override_kinds()
#: Catalog fields given as one number for every tier or as a map of tiers.
PER_TIER_FIELDS = facts.per_tier_count_fields()
#: Catalog fields the write-back sets besides the counts: the size per tier, the size before the
#: first rightsizing per tier, the CPU architecture; and a size's (cpu, memory) keys.
SIZES_FIELD = facts.catalog_field("sizes")
RIGHTSIZED_FROM_FIELD = facts.catalog_field("rightsizedFrom")
ARCHITECTURE_FIELD = facts.catalog_field("architecture")
TASK_SIZE_KEYS = facts.task_size_keys()

#: Top-level keys of a Pulumi stack file; anything else means the file is not one.
STACK_FILE_KEYS = frozenset({"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"})
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")

Number = Union[int, float]
KeyPath = Tuple[str, ...]
