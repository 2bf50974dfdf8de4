"""Valid Fargate task sizes (Linux), the one Python copy of the table.

Source: docs/pricing.md ("Valid Fargate task sizes"). The TypeScript copy lives
in stacks/shared/fargate.ts; both are tested against the same list.
"""

from __future__ import annotations

from typing import Dict, List, Tuple


def _steps(start: int, stop: int, step: int) -> List[int]:
    return list(range(start, stop + 1, step))


#: CPU units -> valid memory sizes in MiB, ascending.
FARGATE_SIZES: Dict[int, List[int]] = {
    256: [512, 1024, 2048],
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


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
