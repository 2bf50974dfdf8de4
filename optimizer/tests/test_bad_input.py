"""Every class of bad input exits 2 (3 for a journal whose cluster is not here) with one
line and changes nothing: the emulator is compared field by field before and after."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from ecs_optimizer_lab.readback import read_state
from helpers import FAST, write_json
from plan_snapshots import FLEET, SERVICE

FIXED = ["--policy", "fixed"]


@pytest.fixture
def applied(outputs_file: str, run_cli: Callable, client: Callable, tmp_path: Path) -> Dict[str, Any]:
    """An optimize run's journal, and the emulator's state after it."""
    journal = tmp_path / "run.jsonl"
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, "--journal", str(journal))
    assert result.exit_code == 0, result.stderr
    return {
        "journal": journal,
        "lines": [json.loads(x) for x in journal.read_text().splitlines()],
        "state": read_state(client, FLEET),
    }


def _one_line_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("ecs-optimizer: error: "), stderr  # the one error style
    assert "Traceback" not in stderr
    return errors[0]


def _write_lines(path: Path, lines: List[Dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def _first_intent(lines: List[Dict[str, Any]], operation: str) -> Dict[str, Any]:
    return next(line for line in lines if line["kind"] == "intent" and line["operation"] == operation)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--poll-interval", "0"], "--poll-interval"),
        (["--endpoint-url", "http://[::1"], "--endpoint-url"),
        (["--endpoint-url", "ftp://127.0.0.1:5000"], "--endpoint-url"),
        (["--endpoint-url", "not a url"], "--endpoint-url"),
        (["--endpoint-url", "http://127.0.0.1:99999"], "--endpoint-url"),
    ],
    ids=["poll-interval-0", "endpoint-unclosed-ipv6", "endpoint-ftp", "endpoint-no-scheme", "endpoint-bad-port"],
)
def test_bad_options_exit_2_at_once_and_change_nothing(outputs_file, run_cli, client, args, message):
    before = read_state(client, FLEET)
    started = time.monotonic()
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert time.monotonic() - started < 5  # refused up front, not after retries
    assert read_state(client, FLEET) == before


@pytest.mark.parametrize("content", [b"\xff\xfe{\x00}", b'{"a": "caf\xe9"}'], ids=["utf16-bom", "latin1"])
def test_non_utf8_files_exit_2(outputs, run_cli, client, tmp_path, content):
    before = read_state(client, FLEET)
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    result = run_cli("optimize", "--outputs", str(path), *FIXED)
    assert result.exit_code == 2, result.stderr
    assert "not UTF-8" in _one_line_error(result.stderr)
    journal = tmp_path / "j.jsonl"
    journal.write_bytes(content)
    result = run_cli("rollback", "--journal", str(journal))
    assert result.exit_code == 2 and "not UTF-8" in _one_line_error(result.stderr)
    assert read_state(client, FLEET) == before


def test_deeply_nested_json_exits_2(outputs, run_cli, client, tmp_path):
    before = read_state(client, FLEET)
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "outputs.json"
    path.write_text(deep)
    result = run_cli("optimize", "--outputs", str(path), *FIXED)
    assert result.exit_code == 2 and "nested too deeply" in _one_line_error(result.stderr)
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps({"kind": "run", "cluster": FLEET.cluster_name}) + "\n" + deep + "\n")
    result = run_cli("rollback", "--journal", str(journal))
    assert result.exit_code == 2 and "nested too deeply" in _one_line_error(result.stderr)
    assert read_state(client, FLEET) == before


def test_bad_max_attempts_exits_2(outputs_file, run_cli, client, monkeypatch):
    before = read_state(client, FLEET)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "many")
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED)
    assert result.exit_code == 2 and "AWS_MAX_ATTEMPTS" in _one_line_error(result.stderr)
    assert read_state(client, FLEET) == before


def test_a_wrong_typed_value_anywhere_restores_nothing(applied, run_cli, client, tmp_path):
    lines = [dict(line) for line in applied["lines"]]
    # the LAST alarm write carries a string threshold: found before the first write
    last = [i for i, line in enumerate(lines) if line["kind"] == "intent" and line["operation"] == "PutMetricAlarm"][-1]
    lines[last] = json.loads(json.dumps(lines[last]))
    lines[last]["changes"][0]["before"] = "eighty"
    result = run_cli("rollback", "--journal", _write_lines(tmp_path / "bad.jsonl", lines), *FAST)
    assert result.exit_code == 2
    assert "threshold before must be a number" in _one_line_error(result.stderr)
    assert read_state(client, FLEET) == applied["state"]


@pytest.mark.parametrize(
    "header_change, words",
    [
        ({"endpointUrl": "http://127.0.0.1:4566"}, "endpoint"),
        ({"region": "eu-west-1"}, "region"),
        ({"account": "999999999999"}, "account"),
    ],
    ids=["endpoint", "region", "account"],
)
def test_a_journal_of_another_place_is_refused(applied, run_cli, client, tmp_path, header_change, words):
    lines = [dict(line) for line in applied["lines"]]
    lines[0] = {**lines[0], **header_change}
    args = ["rollback", "--journal", _write_lines(tmp_path / "other.jsonl", lines), *FAST]
    if "region" in header_change:
        args += ["--region", FLEET.region]  # the journal names eu-west-1; this rollback targets us-east-1
    result = run_cli(*args)
    assert result.exit_code == 2, result.stderr
    assert f"journal's {words}" in _one_line_error(result.stderr)
    assert read_state(client, FLEET) == applied["state"]
    # told to, it restores
    result = run_cli(*args, "--ignore-journal-target")
    assert result.exit_code == 0, result.stderr
    assert (
        read_state(client, FLEET)["services"][SERVICE["frontend"]]["desiredCount"]
        == FLEET.service("frontend")["desiredCount"]
    )


def test_rollback_refuses_outputs_of_another_environment(applied, run_cli, client, tmp_path):
    other = FLEET.exports("compute")
    other.update(environmentSuffix="qa", clusterName="ecs-cluster-qa")
    result = run_cli(
        "rollback", "--journal", str(applied["journal"]), "--outputs", write_json(tmp_path / "qa.json", other), *FAST
    )
    assert result.exit_code == 2, result.stderr
    assert "journal's cluster is ecs-cluster-dev" in _one_line_error(result.stderr)
    assert read_state(client, FLEET) == applied["state"]


def test_a_journal_whose_cluster_is_not_here_touches_nothing(applied, run_cli, client, tmp_path):
    lines = [dict(line) for line in applied["lines"]]
    lines[0] = {**lines[0], "cluster": "ecs-cluster-elsewhere"}
    for line in lines:
        for change in line.get("changes", []):
            if "cluster" in change["target"]:
                change["target"]["cluster"] = "ecs-cluster-elsewhere"
    result = run_cli(
        "rollback", "--journal", _write_lines(tmp_path / "gone.jsonl", lines), *FAST, "--ignore-journal-target"
    )
    assert result.exit_code == 3, result.stderr
    assert "ecs-cluster-elsewhere" in _one_line_error(result.stderr)
    # the same-named alarms and ECR policies were not rewritten either
    assert read_state(client, FLEET) == applied["state"]


def test_an_intent_without_outcome_is_restored_when_it_was_applied(applied, run_cli, client, tmp_path):
    """A run killed after AWS applied a write but before its outcome was journalled."""
    lines = applied["lines"]
    intent = _first_intent(lines, "UpdateService")
    cut = [line for line in lines if not (line["kind"] == "outcome" and line["op"] >= intent["op"])]
    cut = [line for line in cut if not (line["kind"] == "intent" and line["op"] > intent["op"])]
    result = run_cli("rollback", "--journal", _write_lines(tmp_path / "killed.jsonl", cut), *FAST)
    assert result.exit_code == 0, result.stderr
    state = read_state(client, FLEET)
    service = intent["changes"][0]["target"]["serviceName"]
    assert state["services"][service]["desiredCount"] == 3
    assert state["services"][service]["taskDefinition"].endswith(":1")


def test_a_read_only_journal_is_refused_before_any_write(applied, run_cli, client, monkeypatch):
    from ecs_optimizer.cli import main as cli_mod

    journal = str(applied["journal"])
    real_access = cli_mod.os.access
    # (the tests may run as root, for whom every file is writable: the check is what is tested)
    monkeypatch.setattr(cli_mod.os, "access", lambda p, mode: False if str(p) == journal else real_access(p, mode))
    result = run_cli("rollback", "--journal", journal, *FAST)
    assert result.exit_code == 2 and "not writable" in _one_line_error(result.stderr)
    assert read_state(client, FLEET) == applied["state"]
