"""The CLI's conventions, as a user meets them: the report in a file (-o), quiet mode (-q),
the exit code of a dry run with pending changes (--detailed-exitcode), the formats each
command offers, one error style, ECS_OPTIMIZER_* environment variables, shell completion,
tables that never split a word, ARNs as family:revision, the versioned optimize JSON, and the
planning options generated from the levers' declarations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from ecs_optimizer.cli import main as cli_main
from ecs_optimizer.cli.lever_options import declared
from ecs_optimizer.core.errors import EXIT_BAD_INPUT, EXIT_CHANGES_PENDING, EXIT_OK
from ecs_optimizer.levers import registry
from ecs_optimizer.output.registry import formats
from helpers import FAST
from report_schema import load_schema, savings_errors

FIXED = ["--policy", "fixed"]
ERROR = re.compile(r"^ecs-optimizer: error: \S.*$")


def errors_of(stderr: str) -> list:
    return [line for line in stderr.splitlines() if "error" in line.lower()]


def one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ERROR.match(lines[0]), stderr
    return lines[0]


# ----------------------------------------------------------------------------- exit codes


def test_detailed_exitcode_tells_pending_changes_from_none(outputs_file, run_cli):
    pending = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "--detailed-exitcode")
    assert pending.exit_code == EXIT_CHANGES_PENDING == 9, pending.stderr
    plain = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run")
    assert plain.exit_code == EXIT_OK, plain.stderr  # opt-in: without the flag a dry run exits 0
    assert run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST).exit_code == EXIT_OK
    settled = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "--detailed-exitcode")
    assert settled.exit_code == EXIT_OK, settled.stderr
    data = json.loads(run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "--format", "json").stdout)
    assert data["changesPending"] is False


def test_detailed_exitcode_needs_a_dry_run(outputs_file, run_cli):
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--detailed-exitcode")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--dry-run" in one_error(result.stderr)


# ----------------------------------------------------------------------------- -o and -q


def test_output_file_holds_the_report_and_stdout_stays_empty(outputs_file, run_cli, tmp_path):
    shown = run_cli("savings", "--outputs", outputs_file, *FIXED, "--format", "json")
    target = tmp_path / "report.json"
    target.write_text("an older report\n")
    written = run_cli("savings", "--outputs", outputs_file, *FIXED, "--format", "json", "-o", str(target))
    assert written.exit_code == 0, written.stderr
    assert written.stdout == ""
    saved = json.loads(target.read_text())
    assert saved["before"] == json.loads(shown.stdout)["before"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.json.")]  # no temporary left


def test_output_file_in_a_missing_directory_exits_2_before_anything(outputs_file, run_cli, tmp_path, contexts):
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--output", str(tmp_path / "nope" / "r.txt"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "does not exist" in one_error(result.stderr)
    assert contexts == []  # no AWS call was made


def test_quiet_prints_no_log_lines_but_still_errors(outputs_file, run_cli):
    loud = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run")
    assert "INFO" in loud.stderr
    quiet = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout
    failing = run_cli("optimize", "--outputs", "missing.json", "-q")
    assert failing.exit_code == EXIT_BAD_INPUT and one_error(failing.stderr)


# ----------------------------------------------------------------------------- formats and errors


def test_each_command_offers_exactly_the_formats_it_prints():
    runner = CliRunner()
    for command, kind in (("optimize", "optimize"), ("savings", "savings"), ("rollback", "rollback")):
        text = runner.invoke(cli_main.cli, [command, "--help"], terminal_width=200).output
        offered = re.search(r"--format \[([^\]]+)\]", text)
        assert offered is not None, text
        assert tuple(offered.group(1).split("|")) == formats(kind)
    assert "csv" not in formats("optimize") and "html" in formats("savings")


def test_usage_errors_and_bad_input_share_one_error_style(outputs_file, run_cli):
    usage = run_cli("optimize", "--outputs", outputs_file, "--format", "csv")
    assert usage.exit_code == EXIT_BAD_INPUT
    assert "csv" in one_error(usage.stderr)
    unknown = run_cli("optimize", "--no-such-option")
    assert unknown.exit_code == EXIT_BAD_INPUT and "--no-such-option" in one_error(unknown.stderr)
    bad = run_cli("optimize", "--outputs", outputs_file, "--stack", "dev")
    assert bad.exit_code == EXIT_BAD_INPUT and "pass one of them" in one_error(bad.stderr)


def test_a_lever_option_out_of_its_declared_range_names_the_range(outputs_file, run_cli):
    result = run_cli("savings", "--outputs", outputs_file, "--spot-share", "0.5")
    assert result.exit_code == EXIT_BAD_INPUT
    line = one_error(result.stderr)
    assert "--spot-share" in line and "0.7" in line


# ----------------------------------------------------------------------------- environment and completion


def test_options_read_ecs_optimizer_environment_variables(outputs_file, run_cli, monkeypatch):
    monkeypatch.setenv("ECS_OPTIMIZER_SAVINGS_FORMAT", "json")
    monkeypatch.setenv("ECS_OPTIMIZER_SAVINGS_POLICY", "fixed")
    monkeypatch.setenv("ECS_OPTIMIZER_SAVINGS_OUTPUTS", outputs_file)
    result = run_cli("savings")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["schemaVersion"]
    monkeypatch.setenv("ECS_OPTIMIZER_SAVINGS_SPOT_SHARE", "2")
    assert run_cli("savings").exit_code == EXIT_BAD_INPUT  # checked like the option


def test_bash_completion_script_is_printed_by_the_documented_variable():
    result = CliRunner().invoke(
        cli_main.cli, [], prog_name="ecs-optimizer", env={"_ECS_OPTIMIZER_COMPLETE": "bash_source"}
    )
    assert "_ECS_OPTIMIZER_COMPLETE" in result.output and "complete " in result.output


# ----------------------------------------------------------------------------- tables


def test_narrow_tables_never_split_a_word(outputs_file, run_cli, monkeypatch):
    wide = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "--format", "json")
    words = {
        w
        for s in json.loads(wide.stdout)["services"]
        for c in s["changes"]
        for w in re.split(r"[\s.]+", f"{c['resource']} {c['field']}")
        if len(w) > 3
    }
    monkeypatch.setenv("COLUMNS", "40")
    narrow = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run")
    tokens = set(re.split(r"[\s.]+", narrow.stdout))
    assert words <= tokens, sorted(words - tokens)


def test_task_definition_arns_are_shown_as_family_and_revision(outputs_file, run_cli):
    assert run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--journal", "run.jsonl").exit_code == 0
    restored = run_cli("rollback", "--journal", "run.jsonl", "--dry-run")
    assert restored.exit_code == 0, restored.stderr
    assert "arn:aws:ecs" not in restored.stdout
    assert re.search(r"\b[a-z-]+-dev:\d+ -> [a-z-]+-dev:\d+\b", restored.stdout), restored.stdout
    pending = run_cli("rollback", "--journal", "run.jsonl", "--dry-run", "--detailed-exitcode", "-q")
    assert pending.exit_code == EXIT_CHANGES_PENDING and pending.stderr == ""


# ----------------------------------------------------------------------------- the optimize JSON


def test_the_optimize_json_is_versioned_and_valid(outputs_file, run_cli, tmp_path):
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "--format", "json")
    data = json.loads(result.stdout)
    assert data["schemaVersion"].startswith("1.")
    validator = Draft202012Validator(load_schema("optimize-report.schema.json"))
    assert [e.message for e in validator.iter_errors(data)] == []
    assert savings_errors(data["savings"]) == []
    for key in ("environment", "cluster", "account", "region"):
        assert data[key], key
    assert data["changesPending"] is True


# ----------------------------------------------------------------------------- lever options


def test_the_planning_options_are_the_levers_declarations():
    names = {option.name for lever in registry.LEVERS for option in lever.options}
    assert {"policy", "spot_share", "keep_images", "lookback_days", "headroom", "allow_arm64"} <= names
    assert {o.name for o in declared("export-config")} == names - {"allow_arm64"}
    text = CliRunner().invoke(cli_main.cli, ["savings", "--help"], terminal_width=200).output
    for option in declared("savings"):
        assert option.flag in text
    spot = next(o for o in registry.options() if o.name == "spot_share")
    assert f"{spot.low:g}<=x<={spot.high:g}" in text.replace(" ", "")
    with pytest.raises(ValueError, match="--spot-share"):
        spot.check(0.1)


def test_output_written_to_a_file_is_replaced_whole(outputs_file, run_cli, tmp_path: Path):
    target = tmp_path / "plan.md"
    for _ in range(2):
        result = run_cli(
            "optimize", "--outputs", outputs_file, *FIXED, "--dry-run", "--format", "markdown", "-o", str(target)
        )
        assert result.exit_code == 0, result.stderr
    assert target.read_text().count("## ecs-optimizer optimize") == 1
