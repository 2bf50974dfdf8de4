"""Graviton (ARM64) Fargate, opt-in with ``--allow-arm64``: which services can move, and moving them.

A service qualifies only when every container image of its task definition is a
multi-architecture image (a Docker manifest list or an OCI image index) that lists a
``linux/arm64`` image. The optimizer reads each image's manifest from ECR
(``BatchGetImage``, asking for the manifest-list media types). An image it cannot read (a
public registry, another account's repository, a tag that is gone, access denied) makes the
service's readiness ``unknown``, and an unknown service is never moved.

The move itself is part of the task-definition revision the optimizer already registers
(``runtimePlatform.cpuArchitecture``), so the journal records it with the revision and
``rollback`` undoes it by putting the service back on its old revision.

FARGATE_SPOT and ARM64 (:func:`~ecs_optimizer.levers.task_size.spot_blocks_arm64`, the task-size
lever's rule): the ECS API reference states that FARGATE_SPOT runs Linux ARM64 tasks
on platform version 1.4.0 or later (some older guide pages still say x86 only; see
docs/graviton.md). A service that runs Spot on an older pinned platform version is not moved.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from botocore.exceptions import ClientError

from .aws import AwsContext, error_code

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("ecr:BatchGetImage",)

log = logging.getLogger(__name__)


#: Media types of a multi-architecture image: Docker manifest list and OCI image index.
MANIFEST_LIST_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
#: Single-architecture manifest types, also accepted so such an image reads as "not multi-arch".
SINGLE_MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)

READY, NOT_MULTIARCH, UNKNOWN = "ready", "not-multiarch", "unknown"

_ECR_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class ImageRef:
    registry: str
    region: str
    repository: str
    tag: Optional[str]
    digest: Optional[str]

    def image_id(self) -> Dict[str, str]:
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or "latest"}


def parse_ecr_image(image: str) -> Optional[ImageRef]:
    """The ECR parts of a private-registry image URI, or None for any other registry."""
    m = _ECR_IMAGE.match(image)
    if not m:
        return None
    return ImageRef(m["registry"], m["region"], m["repository"], m["tag"], m["digest"])


@dataclass(frozen=True)
class Readiness:
    """Whether a service's images run on ARM64; ``detail`` says why, per image."""

    status: str  # ready | not-multiarch | unknown
    detail: str


def manifest_platforms(manifest: dict) -> List[Tuple[str, str]]:
    """(os, architecture) of every image a manifest list or OCI index names."""
    return [
        (str((m.get("platform") or {}).get("os", "")), str((m.get("platform") or {}).get("architecture", "")))
        for m in manifest.get("manifests", [])
    ]


def image_readiness(ctx: AwsContext, image: str) -> Readiness:
    """Whether one image is multi-architecture with linux/arm64, read from ECR."""
    ref = parse_ecr_image(image)
    if ref is None:
        return Readiness(UNKNOWN, f"{image}: not in a private ECR registry, so its manifest is not read")
    if ref.region != ctx.region:
        return Readiness(UNKNOWN, f"{image}: in {ref.region}, not {ctx.region}")
    try:
        found = ctx.ecr.batch_get_image(
            registryId=ref.registry,
            repositoryName=ref.repository,
            imageIds=[ref.image_id()],
            acceptedMediaTypes=list(MANIFEST_LIST_TYPES + SINGLE_MANIFEST_TYPES),
        )
    except ClientError as exc:
        return Readiness(UNKNOWN, f"{image}: BatchGetImage failed ({error_code(exc)})")
    images = found.get("images") or []
    if not images:
        reasons = ", ".join(f.get("failureCode", "?") for f in found.get("failures") or []) or "not found"
        return Readiness(UNKNOWN, f"{image}: {reasons}")
    entry = images[0]
    try:
        manifest = json.loads(entry.get("imageManifest") or "{}")
    except json.JSONDecodeError:
        return Readiness(UNKNOWN, f"{image}: its manifest is not JSON")
    media_type = entry.get("imageManifestMediaType") or manifest.get("mediaType", "")
    if media_type not in MANIFEST_LIST_TYPES and "manifests" not in manifest:
        return Readiness(NOT_MULTIARCH, f"{image}: a single-architecture image ({media_type or 'no media type'})")
    platforms = manifest_platforms(manifest)
    if ("linux", "arm64") in platforms:
        return Readiness(READY, f"{image}: multi-architecture with linux/arm64")
    listed = ", ".join(f"{o}/{a}" for o, a in platforms) or "no platforms"
    return Readiness(NOT_MULTIARCH, f"{image}: multi-architecture without linux/arm64 ({listed})")


def service_readiness(ctx: AwsContext, task_definition: dict) -> Readiness:
    """Ready only when every container's image is; unknown beats not-multiarch (never assume)."""
    results = [image_readiness(ctx, c.get("image", "")) for c in task_definition.get("containerDefinitions", [])]
    if not results:
        return Readiness(UNKNOWN, "no containers")
    for status in (UNKNOWN, NOT_MULTIARCH):
        failing = [r.detail for r in results if r.status == status]
        if failing:
            return Readiness(status, "; ".join(failing))
    return Readiness(READY, "; ".join(r.detail for r in results))


def readiness_by_service(ctx: AwsContext, task_definitions: Dict[str, dict]) -> Dict[str, Readiness]:
    """Readiness of every service (catalog name -> task definition), logged per service."""
    out = {}
    for name, task_definition in sorted(task_definitions.items()):
        out[name] = r = service_readiness(ctx, task_definition)
        log.info("%s: ARM64 %s: %s", name, r.status, r.detail)
    return out


def summarize(readiness: Iterable[Tuple[str, Readiness]]) -> str:
    """``ready: a, b; not-multiarch: c; unknown: d`` for the run's notes."""
    groups: Dict[str, List[str]] = {}
    for name, r in readiness:
        groups.setdefault(r.status, []).append(name)
    return "; ".join(
        f"{status}: {', '.join(groups[status])}" for status in (READY, NOT_MULTIARCH, UNKNOWN) if status in groups
    )
