"""The lab's hands on stacks the real Pulumi engine deployed into the emulator.

``python -m ecs_optimizer_lab.deployed seed-history --endpoint URL --outputs A.json [--outputs B.json ...]``
writes the same synthetic utilization history (one trace per catalog service, the traces of
:func:`~ecs_optimizer_lab.synthetic.fleet_traces`, ending at the same hour) for every
environment whose compute outputs are given, so identical deployments with different
environment suffixes plan the same.

``python -m ecs_optimizer_lab.deployed read-state --endpoint URL --outputs A.json
[--observability-outputs O.json]`` prints, as JSON, what AWS holds for each catalog service
(:func:`~ecs_optimizer_lab.emulator.read_live_state`), with the alarm thresholds by kind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from .history import Reservation, seed_history
from .readback import read_live_state
from .synthetic import DEFAULT_SEED, fleet_traces


def _read(path: str) -> Dict[str, Any]:
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def seed_environments(
    endpoint: str, outputs: List[Mapping[str, Any]], days: int = 14, seed: str = str(DEFAULT_SEED)
) -> List[Dict[str, Any]]:
    """The same history for every environment of ``outputs`` (compute stack outputs), keyed by
    catalog name, so each environment's services see the same load."""
    now = dt.datetime.now(dt.timezone.utc)
    done = []
    for compute in outputs:
        services = compute["services"]
        traces = fleet_traces(sorted(services), seed)
        reservations = {
            s["serviceName"]: Reservation(int(s["cpu"]), int(s["memory"]), int(s["desiredCount"]))
            for s in services.values()
        }
        report = seed_history(
            endpoint,
            str(compute["region"]),
            str(compute["clusterName"]),
            {services[name]["serviceName"]: trace for name, trace in traces.items()},
            days=days,
            seed=seed,
            now=now,
            reservations=reservations,
        )
        done.append({"cluster": compute["clusterName"], "services": report.services, "datapoints": report.datapoints})
    return done


def read_environment(
    endpoint: str, compute: Mapping[str, Any], observability: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """Catalog name -> the live state of that service (see :func:`read_live_state`)."""
    rows = read_live_state(endpoint, str(compute["region"]), compute, observability)
    return {row["service"]: row for row in rows}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed-history", help="the same utilization history for every environment given")
    seed.add_argument("--endpoint", required=True)
    seed.add_argument("--outputs", action="append", required=True, metavar="FILE", help="compute stack outputs")
    seed.add_argument("--days", type=int, default=14)
    read = sub.add_parser("read-state", help="what AWS holds for each service, as JSON")
    read.add_argument("--endpoint", required=True)
    read.add_argument("--outputs", required=True, metavar="FILE", help="compute stack outputs")
    read.add_argument("--observability-outputs", metavar="FILE")
    args = parser.parse_args(argv)
    if args.command == "seed-history":
        result: Any = seed_environments(args.endpoint, [_read(p) for p in args.outputs], args.days)
    else:
        observability = _read(args.observability_outputs) if args.observability_outputs else None
        result = read_environment(args.endpoint, _read(args.outputs), observability)
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
