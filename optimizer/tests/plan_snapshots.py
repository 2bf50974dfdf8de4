"""Where the tests find the stacks' offline plan: the reviewed dev snapshots of the plan specs.

``test/__snapshots__/dev/<layer>.json`` is what ``npm run plan -- all`` writes to ``build/plan``
(every resource with its inputs, and the layer's exports); ``make snapshots`` refreshes it. It is
the one copy: the emulator, demo and facts tests read it in place.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAN_DIR = REPO_ROOT / "test" / "__snapshots__" / "dev"
