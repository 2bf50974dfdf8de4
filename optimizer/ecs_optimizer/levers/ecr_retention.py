"""ECR retention: the keep-last-N count of the repository's lifecycle policy (only a policy
of the shape the registry layer writes is edited; the plan holds back any other)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ..core.changes import Change, Resource, RestoreStep
from ..core.model import ServiceState
from ..live import resources as res
from ..writeback.keys import KEEP_IMAGES_KEY
from ..writeback.setting import Setting, layer_wide
from .base import FieldSpec, Lever, PlannedChange, SavingsStep, is_int, optional_int
from .options import LeverOption

if TYPE_CHECKING:  # pragma: no cover
    from ..live.inventory import Inventory, LiveService
    from ..writeback.applied_values import AppliedRun
    from .ports import RestorerView, ServicePlanView, ServiceRunView

KEEP_IMAGES = LeverOption(
    "keep_images",
    default=5,
    kind="int",
    low=1,
    help="ECR lifecycle policy: keep the last N images (the count is the only part of an existing policy changed; "
    "a lower count already set is kept).",
)


def same_json(a: Optional[str], b: Optional[str]) -> bool:
    """Two policy texts (or absent policies) say the same."""
    if a is None or b is None:
        return a is b
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


def plan_keep_images(current: Optional[int], keep_images: int) -> int:
    """The lever's decision: ECR "keep last N" is ``keep_images``, but never more than is kept today."""
    return keep_images if current is None else min(current, keep_images)


class EcrRetention(Lever):
    name = "ECR retention"
    label = "ECR retention"
    iam_actions = ("ecr:GetLifecyclePolicy", "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy")
    options = (KEEP_IMAGES,)
    resource = Resource.ECR_LIFECYCLE_POLICY
    target_keys = ("repositoryName",)
    journal_fields = {
        (Resource.ECR_LIFECYCLE_POLICY, "keepImages"): FieldSpec(
            "an integer or null", lambda v: v is None or is_int(v), "ecr_keep_images", optional_int
        ),
        (Resource.ECR_LIFECYCLE_POLICY, "lifecyclePolicyText"): FieldSpec(
            "a policy text or null", lambda v: v is None or isinstance(v, str)
        ),
    }
    savings_steps = (SavingsStep("ecrStorage", "ECR storage", ("ecr_keep_images", "ecr_image_bytes")),)
    migration_steps = ("set the ECR lifecycle policy's keep-last count",)

    def hold_back(
        self, before: ServiceState, after: ServiceState, live: "LiveService", inventory: "Inventory"
    ) -> Tuple[ServiceState, Optional[str]]:
        if after.ecr_keep_images == before.ecr_keep_images:
            return after, None
        _, editable = res.keep_count(live.lifecycle_policy)
        if live.repository_exists and editable:
            return after, None
        why = "repository not found" if not live.repository_exists else "its lifecycle policy has a custom shape"
        return after.with_changes(ecr_keep_images=before.ecr_keep_images), f"ECR retention kept: {why}"

    def changes(self, plan: "ServicePlanView") -> List[PlannedChange]:
        b, a = plan.before.ecr_keep_images, plan.after.ecr_keep_images
        return [PlannedChange(self.resource, "keepImages", b, a)] if b != a else []

    def apply(self, run: "ServiceRunView") -> None:
        b, a = run.plan.before.ecr_keep_images, run.plan.after.ecr_keep_images
        if b == a or a is None:
            return
        repository = run.plan.live.target.repository_name
        old_text = run.plan.live.lifecycle_policy
        new_text = res.with_keep_count(old_text, a)
        run.write(
            "PutLifecyclePolicy",
            self.resource,
            {"keepImages": (b, a), "lifecyclePolicyText": (old_text, new_text)},
            {"repositoryName": repository},
            lambda: res.write_lifecycle_policy(run.ctx, repository, new_text),
        )

    def restore(self, restorer: "RestorerView", step: RestoreStep, notes: List[str]) -> List[Change]:
        if "lifecyclePolicyText" not in step.before:
            return []
        repository = step.target["repositoryName"]
        current_text = res.read_lifecycle_policy(restorer.ctx, repository)
        wanted_text = step.before["lifecyclePolicyText"]
        if same_json(current_text, wanted_text):
            return []
        current = {"lifecyclePolicyText": current_text, "keepImages": res.keep_count(current_text)[0]}
        wanted = {"keepImages": res.keep_count(wanted_text)[0], "lifecyclePolicyText": wanted_text}
        operation = "DeleteLifecyclePolicy" if wanted_text is None else "PutLifecyclePolicy"
        return restorer.write(
            step, operation, wanted, current, lambda: res.write_lifecycle_policy(restorer.ctx, repository, wanted_text)
        )

    def applied(
        self, before: ServiceState, after: ServiceState, thresholds: Mapping[str, float], baseline: Tuple[int, int]
    ) -> Dict[str, Any]:
        changed = after.ecr_keep_images != before.ecr_keep_images
        return {"keep_images": after.ecr_keep_images if changed else None}

    def settings(self, run: "AppliedRun", notes: List[str]) -> List[Setting]:
        changed = {n: s.keep_images for n, s in run.services.items() if s.keep_images is not None}
        others = {n: st.ecr_keep_images for n, st in run.final.items() if n not in changed}
        show = lambda v: "none" if v is None else str(v)  # noqa: E731
        keep = layer_wide(KEEP_IMAGES_KEY, "ECR keep counts", changed, others, show, notes)
        return [] if keep is None else [Setting("registry", (KEEP_IMAGES_KEY,), keep)]
