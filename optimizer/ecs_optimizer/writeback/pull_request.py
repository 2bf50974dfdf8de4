"""The pull-request comment of ``optimize --via-pulumi`` (markdown) and its JSON report.

The comment is what a reviewer needs to approve a cost change that ships through ``pulumi
up``: the stack files' key changes, the resources and properties the next ``pulumi up`` of
each layer is expected to change, what it does not set (and how and when that takes effect),
the estimated saving, and the commands to preview, apply and undo it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..output.render import markdown_table, usd
from ..pricing.savings import SavingsReport
from .files import WriteBackReport
from .pulumi_first import LAYER_ORDER, ExpectedPreview
from .stack_file import show_value

#: Version of the ``optimize --via-pulumi --format json`` document; bumped on any change that
#: is not additive.
REPORT_VERSION = 1


@dataclass
class PulumiFirstReport:
    """Everything ``optimize --via-pulumi`` prints."""

    stack: str
    cluster: str
    region: str
    policy: str
    preview: ExpectedPreview
    writeback: WriteBackReport
    savings: Optional[SavingsReport]
    #: The local plan record (a journal of the stack-file edits only), when one was written.
    record: Optional[str]
    services: Dict[str, str]  # service -> status (planned / unchanged / skipped)
    reasons: Dict[str, str]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "mode": "via-pulumi",
            "stack": self.stack,
            "cluster": self.cluster,
            "region": self.region,
            "policy": self.policy,
            "services": [
                {"service": name, "status": status, "reason": self.reasons.get(name, "")}
                for name, status in sorted(self.services.items())
            ],
            "writeConfig": self.writeback.to_dict(),
            "expectedPreview": self.preview.to_dict(),
            "monthlySavings": None if self.savings is None else float(self.savings.monthly_savings),
            "planRecord": self.record,
            "pullRequestComment": pull_request_comment(self),
        }


def _shown_path(path: str) -> str:
    """A file as the pull request shows it: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _cell(value: Any) -> str:
    return "(absent)" if value is None else f"`{show_value(value)}`"


def pull_request_comment(report: PulumiFirstReport) -> str:
    """The markdown comment for the pull request that carries the written stack files."""
    stack = report.stack
    planned = sorted(n for n, s in report.services.items() if s == "planned")
    lines: List[str] = [
        f"## ecs-optimizer: cost changes for stack `{stack}`, through `pulumi up`",
        "",
        f"Planned from the live fleet on cluster `{report.cluster}` ({report.region}), policy `{report.policy}`. "
        "No AWS resource was changed: the plan is in the stack files of this pull request, and the platform's "
        f"own deployment applies it (`scripts/layers.sh up {stack}`).",
        "",
    ]
    if report.savings is not None and planned:
        lines += [
            f"Estimated saving: **{usd(float(report.savings.monthly_savings))} a month** "
            f"({usd(float(report.savings.before_monthly))} -> {usd(float(report.savings.after_monthly))}).",
            "",
        ]
    lines += [
        f"Services changed: {', '.join(planned) if planned else 'none'}.",
        "",
        "### Stack files",
        "",
    ]
    rows = [
        [f"`{_shown_path(f.path)}`", f"`{c.key}`", _cell(c.before), _cell(c.after)]
        for f in report.writeback.files
        for c in f.changes
    ]
    lines.append(markdown_table(["file", "key", "before", "after"], rows) if rows else "No key changes.")
    for layer, keys in report.writeback.unwritten.items():
        lines.append(f"\nNot written (no stack file of the {layer} layer): {', '.join(f'`{k}`' for k in keys)}")
    lines += ["", "### What `pulumi up` will change", ""]
    for layer in LAYER_ORDER:
        resources = report.preview.for_layer(layer)
        if not resources:
            continue
        lines.append(f"**{layer}** (`pulumi preview --stack {stack}` in `stacks/{layer}`):")
        lines.append("")
        table_rows = []
        for r in resources:
            for p in r.properties:
                later = f" (shows once {p.after_upstream} is updated)" if p.after_upstream else ""
                table_rows.append(
                    [
                        f"`{r.name}`",
                        f"`{r.type}`",
                        r.operation,
                        f"`{p.property}`",
                        f"{p.shown[0]} -> {p.shown[1]}{later}",
                    ]
                )
        lines += [markdown_table(["resource", "type", "operation", "property", "change"], table_rows), ""]
    others = " apart from what the notes below say a layer-wide key moves" if report.writeback.notes else ""
    lines.append(
        f"Nothing else should change{others}: `scripts/layers.sh preview {stack}` shows changes on these "
        "resources only (network: none)."
    )
    if report.preview.deferred:
        lines += ["", "### Not set by `pulumi up`", ""]
        for d in report.preview.deferred:
            lines.append(
                f"- **{d.service}** `{d.name}` `{d.property}` {d.before} -> {d.planned}: {d.how} "
                f"(after `pulumi up`: {d.at_up})."
            )
    notes = list(report.writeback.notes)
    if notes:
        lines += ["", "### Notes", ""] + [f"- {n}" for n in notes]
    lines += [
        "",
        "### Next",
        "",
        f"1. Check the preview: `scripts/layers.sh preview {stack}`.",
        f"2. Merge, then deploy: `scripts/layers.sh up {stack}` (registry, compute, observability in that order; "
        "compute deploys the new task definitions with the service's own deployment settings).",
    ]
    if report.record:
        lines.append(
            f"3. To drop the change before it is deployed: `ecs-optimizer rollback --journal {report.record}` "
            "puts the stack files back byte for byte (or close this pull request); once deployed, revert the "
            f"commit and run `scripts/layers.sh up {stack}` again."
        )
    else:
        lines.append(f"3. To undo once deployed: revert the commit and run `scripts/layers.sh up {stack}` again.")
    return "\n".join(lines) + "\n"


def render_pulumi_first(report: PulumiFirstReport, fmt: str) -> str:
    """``json``: the versioned document (with the comment inside); otherwise the comment."""
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, default=str)
    return pull_request_comment(report)
