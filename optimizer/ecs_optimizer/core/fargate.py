"""Valid Fargate task sizes (Linux) and the checks on them.

The table (docs/pricing.md, "Valid Fargate task sizes") is the stacks' own
(stacks/shared/fargate.ts), read from the platform facts; both languages' tests hold it
against the documented list.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from . import facts

#: The CPU architectures a Fargate Linux service may run on, as the catalog states them; the
#: first (X86_64) is what ECS runs a task definition without a runtime platform on.
ARCHITECTURES: Tuple[str, ...] = facts.architectures()
X86_64, ARM64 = ARCHITECTURES

#: CPU units -> valid memory sizes in MiB, ascending.
FARGATE_SIZES: Dict[int, List[int]] = facts.fargate_sizes()


def valid_memories(cpu: int) -> List[int]:
    """Memories (MiB) valid for ``cpu`` units, or an empty list for an unknown CPU."""
    return list(FARGATE_SIZES.get(cpu, []))


def is_valid(cpu: int, memory: int) -> bool:
    return memory in FARGATE_SIZES.get(cpu, [])


def check_size(cpu: int, memory: int, where: str = "task size") -> None:
    """Raise ValueError naming the pair and what is allowed when it is not a Fargate size."""
    if cpu not in FARGATE_SIZES:
        allowed = ", ".join(str(c) for c in FARGATE_SIZES)
        raise ValueError(f"{where}: cpu {cpu} is not a Fargate CPU size (allowed: {allowed})")
    if memory not in FARGATE_SIZES[cpu]:
        mems = ", ".join(str(m) for m in FARGATE_SIZES[cpu])
        raise ValueError(f"{where}: memory {memory} MiB is not valid with cpu {cpu} (valid: {mems})")


def all_pairs() -> List[Tuple[int, int]]:
    """Every valid (cpu, memory) pair, smallest CPU first."""
    return [(cpu, mem) for cpu, mems in FARGATE_SIZES.items() for mem in mems]
