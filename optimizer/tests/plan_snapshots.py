"""Where the tests find the stacks' offline plan, and the fleet it declares.

``test/__snapshots__/<tier>/<layer>.json`` is what ``npm run plan -- all`` writes to
``build/plan`` (every resource with its inputs, and the layer's exports); ``make snapshots``
refreshes it. It is the one copy: the emulator, demo and facts tests read it in place, and
every test that needs AWS seeds :data:`FLEET`, the dev plan's fleet, through the lab.
"""

from __future__ import annotations

from pathlib import Path

from ecs_optimizer_lab.fleet import FleetSpec, fleet_from_plan

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAN_DIR = REPO_ROOT / "test" / "__snapshots__" / "dev"
PROD_PLAN_DIR = REPO_ROOT / "test" / "__snapshots__" / "prod"

#: The seed of the seeded fleet's generated images and utilization traces (any fixed value
#: makes every run repeat exactly).
SEED = "tests"

#: The fleet the dev plan declares: cluster, services, task definitions, scalable targets and
#: scaling policies, ECR repositories with lifecycle policies, and alarms, with each layer's
#: exports. Read-only: ``FLEET.exports(layer)`` gives a copy to edit.
FLEET: FleetSpec = fleet_from_plan(PLAN_DIR)

#: Catalog name -> ECS service name, as the plan's fleet names them.
SERVICE = FLEET.service_names
