"""``ecs-optimizer-lab``: the local AWS emulator as a command (the ``[lab]`` extra).

``up`` starts the emulator detached, seeds it from a plan directory and prints the shell
exports that point the ``ecs-optimizer`` CLI at it; ``status`` says whether it runs, where,
and what it holds; ``down`` stops exactly the process ``up`` started; ``demo`` is the
end-to-end demo (``make demo``). The session logic is :mod:`ecs_optimizer_lab.session`.

Exit codes: 0 done; 1 the emulator failed (did not start, seeding failed, would not stop);
2 bad input (no plan, port in use, already up, a broken state file); 3 (``status``) not up.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

import click

from . import session
from .synthetic import DEFAULT_SEED

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_UP = 3

#: What the lab needs beyond the optimizer's own dependencies (the ``[lab]`` extra).
LAB_MODULES = ("moto", "werkzeug")
INSTALL_HINT = "pip install 'ecs-optimizer[lab]'"


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _state_dir_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=session.DEFAULT_STATE_DIR,
        show_default=True,
        envvar="ECS_OPTIMIZER_LAB_STATE_DIR",
        help="Where the session is recorded (state.json, the emulator's log, the outputs files). "
        "Env: ECS_OPTIMIZER_LAB_STATE_DIR.",
    )(fn)


def _plan_dir_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--plan-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=session.DEFAULT_PLAN_DIR,
        show_default=True,
        help="The offline plan to seed from (`make plan` writes build/plan).",
    )(fn)


def _seed_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        show_default=True,
        help="Seed of the generated images and utilization.",
    )(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """The optimizer's lab: a local AWS emulator (moto on 127.0.0.1) seeded with the fleet a plan declares.

    \b
    eval "$(ecs-optimizer-lab up)"     # start, seed, export AWS_ENDPOINT_URL and test credentials
    ecs-optimizer savings --outputs .ecs-optimizer/lab/outputs/compute.json
    ecs-optimizer-lab status
    ecs-optimizer-lab down
    """


@cli.command()
@_plan_dir_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port on 127.0.0.1; 0 picks a free one."
)
@_seed_option
@click.option(
    "--rollout-seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="How long an emulated ECS deployment takes to complete.",
)
@_state_dir_option
def up(plan_dir: Path, port: int, seed: int, rollout_seconds: float, state_dir: Path) -> None:
    """Start the emulator detached, seed it from a plan, and print the shell exports.

    Creates the fleet PLAN_DIR declares (cluster, services, task definitions, autoscaling,
    ECR repositories with images, alarms) with 14 days of hourly utilization, and writes each
    layer's outputs file under STATE_DIR/outputs. Standard output is only `export` lines and
    comments, for `eval "$(ecs-optimizer-lab up)"`; progress goes to standard error.
    """
    try:
        state = session.up(
            plan_dir,
            state_dir,
            port=port,
            seed=seed,
            rollout_seconds=rollout_seconds,
            progress=lambda line: click.echo(f"ecs-optimizer-lab: {line}", err=True),
        )
    except session.LabError:
        if not sys.stdout.isatty():
            # Read by `eval "$(ecs-optimizer-lab up)"`, whose own status is eval's: make it fail too.
            click.echo("false  # ecs-optimizer-lab up failed; its error is above")
        raise
    click.echo(session.shell_exports(state))
    if sys.stdout.isatty():
        click.echo(
            'ecs-optimizer-lab: run the export lines above in your shell (or start with eval "$(ecs-optimizer-lab up)"); '
            "`ecs-optimizer-lab down` stops it",
            err=True,
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_state_dir_option
def status(as_json: bool, state_dir: Path) -> None:
    """Whether the emulator is up, where, and what fleet it holds (exit 3 when it is not up)."""
    result = session.status(state_dir)
    if result is None:
        if as_json:
            click.echo(json.dumps({"running": False, "stateDir": str(state_dir)}))
        else:
            click.echo(f"not up: no lab state in {state_dir} (`ecs-optimizer-lab up` starts one)")
        sys.exit(EXIT_NOT_UP)
    if as_json:
        click.echo(json.dumps(session.status_json(result), indent=2))
    elif not result.running:
        click.echo(
            f"not up: the emulator recorded in {session.state_path(state_dir)} (pid {result.state.pid}) has stopped; "
            "`ecs-optimizer-lab down` clears the record"
        )
    else:
        state = result.state
        held = "not answering" if result.services is None else f"{result.services} services"
        click.echo(f"up:       {state.endpoint} (pid {state.pid}, since {state.started_at})")
        click.echo(f"region:   {state.region}")
        click.echo(f"cluster:  {state.cluster}, {held} (seeded from {state.plan_dir})")
        for layer, path in state.outputs.items():
            option = f" ({session.OUTPUT_OPTIONS[layer]})" if layer in session.OUTPUT_OPTIONS else ""
            click.echo(f"outputs:  {layer} {path}{option}")
        click.echo(f"log:      {state.log}")
    if not result.running:
        sys.exit(EXIT_NOT_UP)


@cli.command()
@_state_dir_option
def down(state_dir: Path) -> None:
    """Stop the emulator `up` started (checked to be that process) and remove the session's files."""
    result = session.down(state_dir)
    if result is None:
        click.echo(f"nothing to stop: no lab state in {state_dir}")
        return
    if result.stopped:
        click.echo(f"stopped the emulator at {result.state.endpoint} (pid {result.state.pid}); removed {state_dir}")
    else:
        click.echo(
            f"the emulator recorded at {result.state.endpoint} (pid {result.state.pid}) had already stopped; "
            f"nothing was killed; removed {state_dir}"
        )


@cli.command()
@_plan_dir_option
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/demo"),
    show_default=True,
    help="Where the reports go.",
)
@_seed_option
@click.option(
    "--rollout-seconds",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="How long an emulated ECS deployment takes.",
)
def demo(plan_dir: Path, out_dir: Path, seed: int, rollout_seconds: float) -> None:
    """The optimizer end to end on its own emulator: dry run, real run, savings, read-back (`make demo`)."""
    from . import demo as demo_run

    code = demo_run.main(
        [
            "--plan-dir",
            str(plan_dir),
            "--out-dir",
            str(out_dir),
            "--seed",
            str(seed),
            "--rollout-seconds",
            str(rollout_seconds),
        ]
    )
    sys.exit(code)


def missing_lab_modules() -> List[str]:
    return [name for name in LAB_MODULES if importlib.util.find_spec(name) is None]


def main(argv: Optional[List[str]] = None) -> None:
    missing = missing_lab_modules()
    if missing:
        _fail(
            f"ecs-optimizer-lab needs the [lab] extra ({', '.join(missing)} not installed): {INSTALL_HINT}",
            EXIT_BAD_INPUT,
        )
    try:
        cli.main(args=argv, prog_name="ecs-optimizer-lab", standalone_mode=False)
    except session.LabError as exc:
        _fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        _fail("interrupted", EXIT_FAILED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
