"""Page sizes as AWS documents them, for the list and describe calls moto answers in one page.

The optimizer's call counts (the scale benchmark's figures) are only meaningful when the
emulator pages the way AWS does. moto answers these two in pages far larger than AWS allows:

ECS ``ListTaskDefinitions``
    moto ignores ``maxResults``, ``nextToken`` and ``sort`` and returns every revision in one
    answer. AWS returns at most ``maxResults`` (1 to 100, default 100) per page with a
    ``nextToken``, ordered by family name and then revision number, ascending unless ``sort``
    is ``DESC``.
Application Auto Scaling ``DescribeScalingPolicies``
    moto returns up to 100 policies per page. AWS documents ``MaxResults`` as 1 to 10, default
    10.
"""

from __future__ import annotations

from typing import Any, Dict, List

#: ListTaskDefinitions: the most revisions one page holds (and the default page size).
LIST_TASK_DEFINITIONS_PAGE = 100
#: DescribeScalingPolicies: the most policies one page holds (and the default page size).
DESCRIBE_SCALING_POLICIES_PAGE = 10


def _page_size(requested: Any, limit: int, error: Any) -> int:
    if requested is None:
        return limit
    size = int(requested)
    if not 1 <= size <= limit:
        raise error(f"maxResults must be between 1 and {limit}, got {size}")
    return size


def _patch_list_task_definitions() -> None:
    from moto.core.responses import ActionResult
    from moto.ecs import exceptions, responses

    def list_task_definitions(self: Any) -> Any:
        size = _page_size(
            self._get_param("maxResults"), LIST_TASK_DEFINITIONS_PAGE, exceptions.InvalidParameterException
        )
        family = self._get_param("familyPrefix")
        status = self._get_param("status", "ACTIVE")
        revisions = [
            td
            for by_number in self.ecs_backend.task_definitions.values()
            for td in by_number.values()
            if (family is None or td.family == family) and td.status == status
        ]
        revisions.sort(key=lambda td: (td.family, td.revision), reverse=self._get_param("sort") == "DESC")
        start = int(self._get_param("nextToken") or 0)
        page: List[str] = [td.arn for td in revisions[start : start + size]]
        result: Dict[str, Any] = {"taskDefinitionArns": page}
        if start + size < len(revisions):
            result["nextToken"] = str(start + size)
        return ActionResult(result)

    response_cls: Any = responses.EC2ContainerServiceResponse
    response_cls.list_task_definitions = list_task_definitions


def _patch_describe_scaling_policies() -> None:
    from moto.applicationautoscaling import exceptions, models

    backend_cls: Any = models.ApplicationAutoscalingBackend
    original = backend_cls.describe_scaling_policies

    def describe_scaling_policies(self: Any, *args: Any, **kwargs: Any) -> Any:
        size = _page_size(kwargs.get("max_results"), DESCRIBE_SCALING_POLICIES_PAGE, exceptions.AWSValidationException)
        return original(self, *args, **{**kwargs, "max_results": size})

    backend_cls.describe_scaling_policies = describe_scaling_policies


def patch_page_sizes() -> None:
    """Make moto page both calls as AWS documents (see the module docstring)."""
    _patch_list_task_definitions()
    _patch_describe_scaling_policies()
