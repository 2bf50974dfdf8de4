"""--allow-arm64: exactly the services whose images are multi-arch with linux/arm64 move to
Graviton, in the same task-definition revision; rollback restores them; the savings price
the move at the ARM rates; write-back records the catalog's architecture."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from ecs_optimizer.levers.task_size import spot_blocks_arm64
from ecs_optimizer.live.graviton import NOT_MULTIARCH, READY, UNKNOWN, parse_ecr_image
from ecs_optimizer_lab.fleet import FleetSpec
from helpers import FAST
from plan_snapshots import FLEET


@pytest.fixture
def fleet() -> FleetSpec:
    """The plan's fleet with each service running its own repository's ``latest`` image (the
    plan's public placeholder image has no manifest in this account's ECR to read)."""
    return FLEET.running_repository_images("latest")


LIST_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"
SINGLE_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def manifest_list(*platforms: str) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": LIST_TYPE,
            "manifests": [
                {
                    "mediaType": SINGLE_TYPE,
                    "size": 1000,
                    "digest": _digest(p),
                    "platform": {"os": p.split("/")[0], "architecture": p.split("/")[1]},
                }
                for p in platforms
            ],
        }
    )


def single_manifest() -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": SINGLE_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 10,
                "digest": _digest("cfg"),
            },
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 10, "digest": _digest("l")}
            ],
        }
    )


@pytest.fixture
def images(outputs: Dict[str, Any], client: Callable[[str], Any]) -> None:
    """The task definitions run ``<repo>:latest``. frontend's is multi-arch with linux/arm64,
    api-gateway's a single-architecture image; processing-service has no ``latest`` at all
    (its readiness cannot be read, so it is unknown and must stay x86)."""
    ecr = client("ecr")
    ecr.put_image(
        repositoryName=f"frontend-{FLEET.suffix}",
        imageManifest=manifest_list("linux/amd64", "linux/arm64"),
        imageManifestMediaType=LIST_TYPE,
        imageTag="latest",
    )
    ecr.put_image(
        repositoryName=f"api-gateway-{FLEET.suffix}",
        imageManifest=single_manifest(),
        imageManifestMediaType=SINGLE_TYPE,
        imageTag="latest",
    )


def architectures(client: Callable[[str], Any]) -> Dict[str, str]:
    ecs = client("ecs")
    out = {}
    for name in FLEET.catalog:
        svc = ecs.describe_services(cluster=FLEET.cluster_name, services=[f"{name}-{FLEET.suffix}"])["services"][0]
        td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        out[name] = (td.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64")
    return out


def optimize_arm64(run_cli, outputs_file: str, journal: Path, *extra: str) -> Any:
    """``optimize --policy fixed --allow-arm64`` with its journal at ``journal``."""
    return run_cli(
        "optimize",
        "--outputs",
        outputs_file,
        "--policy",
        "fixed",
        "--allow-arm64",
        *FAST,
        "--journal",
        str(journal),
        *extra,
    )


def test_only_multi_arch_services_move_and_rollback_restores_them(images, outputs_file, run_cli, client, tmp_path):
    assert set(architectures(client).values()) == {"X86_64"}
    journal = tmp_path / "j.jsonl"
    result = optimize_arm64(run_cli, outputs_file, journal, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert architectures(client) == {"frontend": "ARM64", "api-gateway": "X86_64", "processing-service": "X86_64"}
    services = {s["service"]: s for s in json.loads(result.stdout)["services"]}
    changes = {(c["resource"], c["field"]): (c["before"], c["after"]) for c in services["frontend"]["changes"]}
    assert changes[("taskDefinition", "cpuArchitecture")] == ("X86_64", "ARM64")
    assert "ARM64 not applied: not-multiarch" in services["api-gateway"]["reason"]
    assert "ARM64 not applied: unknown" in services["processing-service"]["reason"]
    # the new revision is the only change to the task definition besides the size: all else copied
    ecs = client("ecs")
    svc = ecs.describe_services(cluster=FLEET.cluster_name, services=[f"frontend-{FLEET.suffix}"])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert td["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    assert td["containerDefinitions"][0]["readonlyRootFilesystem"] is True
    # the realised savings price frontend at the ARM rates, under the graviton lever
    realised = json.loads(run_cli("savings", "--journal", str(journal), "--format", "json").stdout)
    graviton = {b["category"]: b["monthly"] for b in realised["breakdown"]}["graviton"]
    # levers apply in order: after rightsizing (0.25 vCPU / 0.5 GB) and before the count
    # change (3 -> 2), so the graviton lever is 3 tasks moved from the x86 to the ARM rates
    per_task = (
        Decimal("0.25") * (Decimal("0.04048") - Decimal("0.03238"))
        + Decimal("0.5") * (Decimal("0.004445") - Decimal("0.00356"))
    ) * 730
    tasks = FLEET.service("frontend")["desiredCount"]
    assert tasks == 3 and float((tasks * per_task).quantize(Decimal("0.01"))) == 5.40
    # a category is the difference of two rounded running totals: within a cent of its exact value
    assert abs(Decimal(str(graviton)) - tasks * per_task) <= Decimal("0.01")
    assert any(
        c["item"] == "Fargate vCPU, on-demand, ARM64" for c in realised["components"] if c["scope"] == "frontend"
    )
    # rollback: every service back on x86
    back = run_cli("rollback", "--journal", str(journal), *FAST)
    assert back.exit_code == 0, back.stderr
    assert set(architectures(client).values()) == {"X86_64"}


def test_without_the_flag_nothing_moves_and_no_manifest_is_read(images, outputs_file, run_cli, contexts):
    result = run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--format", "json")
    assert {b["category"]: b["monthly"] for b in json.loads(result.stdout)["breakdown"]}["graviton"] == 0
    assert not any("ecr:BatchGetImage" in ctx.recorder.counts for ctx in contexts)
    planned = run_cli("savings", "--outputs", outputs_file, "--policy", "fixed", "--allow-arm64", "--format", "json")
    assert {b["category"]: b["monthly"] for b in json.loads(planned.stdout)["breakdown"]}["graviton"] > 0


def test_write_back_records_the_catalog_architecture(images, outputs_file, run_cli, tmp_path):
    compute = tmp_path / "compute" / "Pulumi.dev.yaml"
    compute.parent.mkdir()
    (compute.parent / "Pulumi.yaml").write_text("name: compute\nruntime: nodejs\n")
    compute.write_text("config:\n  compute:tier: dev\n  compute:environmentSuffix: dev\n")
    result = optimize_arm64(run_cli, outputs_file, tmp_path / "j.jsonl", "--write-config", str(compute))
    assert result.exit_code == 0, result.stderr
    text = compute.read_text()
    assert "architecture: ARM64" in text
    assert text.count("architecture:") == 1  # only frontend moved


@pytest.mark.parametrize(
    "image, parsed",
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/frontend-dev:1.4.2", ("frontend-dev", "1.4.2", None)),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api@sha256:" + "a" * 64,
            ("team/api", None, "sha256:" + "a" * 64),
        ),
        ("public.ecr.aws/nginx/nginx:1.27", None),
        ("nginx:latest", None),
    ],
)
def test_only_private_ecr_images_are_read(image: str, parsed):
    ref = parse_ecr_image(image)
    assert (None if ref is None else (ref.repository, ref.tag, ref.digest)) == parsed


def test_spot_needs_platform_1_4_0_for_arm64():
    assert spot_blocks_arm64("LATEST", True) is None and spot_blocks_arm64(None, True) is None
    assert spot_blocks_arm64("1.4.0", True) is None
    assert "1.4.0 or later" in spot_blocks_arm64("1.3.0", True)
    assert spot_blocks_arm64("1.3.0", False) is None
    assert (READY, NOT_MULTIARCH, UNKNOWN) == ("ready", "not-multiarch", "unknown")
