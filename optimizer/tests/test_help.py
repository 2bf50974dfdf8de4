"""Help text explains every option; the console script is wired."""

from __future__ import annotations

import click
import pytest

from ecs_optimizer.cli import main as cli_mod


@pytest.mark.parametrize("command", ["optimize", "savings", "rollback", "export-config"])
def test_every_option_has_help(command, run_cli):
    cmd = cli_mod.cli.commands[command]
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help and len(param.help) > 15, f"{command} {param.opts}"
    result = run_cli(command, "--help")
    assert result.exit_code == 0
    for opt in (
        "--outputs",
        "--stack",
        "--observability-outputs",
        "--service",
        "--region",
        "--profile",
        "--endpoint-url",
        "--format",
        "--log-file",
        "--verbose",
    ):
        assert opt in result.stdout, (command, opt)


def test_top_level_help_lists_commands_and_exit_codes(run_cli):
    result = run_cli("--help")
    assert result.exit_code == 0
    for word in ("optimize", "savings", "rollback", "Exit codes", "5 another run holds"):
        assert word in result.stdout


def test_optimize_help_says_dry_runs_take_no_lock(run_cli):
    text = " ".join(run_cli("optimize", "--help").stdout.split())
    assert "Takes no lock" in text and "--force-unlock" in text


def test_unknown_command_and_option_exit_2(run_cli):
    assert run_cli("frobnicate").exit_code == 2
    assert run_cli("optimize", "--no-such-option").exit_code == 2
