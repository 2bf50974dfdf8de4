"""The compute layer's rule that turns a Spot share into integer capacity-provider weights,
shared with the stacks through one table of worked examples (``facts.spot_weight_cases()``)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Tuple

from ..core import facts

#: Two shares closer than this are the same share (float noise in a config value).
SHARE_TOLERANCE = Fraction(1, 10**9)


def spot_weights(share: Fraction) -> Tuple[int, int]:
    """(on-demand, spot) weights for a Spot share, the compute layer's rule:

    1. the smallest total up to the platform's weight limit that states the share exactly
       (0.7 -> 3:7, 0.875 -> 1:7, 1 -> 0:1);
    2. otherwise the share rounded UP to a whole percent, in lowest terms (0.705 -> 29:71), so
       the Spot fraction never falls below the share asked for.

    The worked examples (``facts.spot_weight_cases()``) are one table both languages test.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"spot share must be between 0 and 1, got {float(share)}")
    limit = facts.spot_max_weight_total()
    for total in range(1, limit + 1):
        spot = math.floor(share * total + Fraction(1, 2))
        if abs(Fraction(spot, total) - share) < SHARE_TOLERANCE:
            return total - spot, spot
    percent = math.ceil(share * limit - SHARE_TOLERANCE)
    divisor = math.gcd(percent, limit)
    return (limit - percent) // divisor, percent // divisor
