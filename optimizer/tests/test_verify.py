"""verify: each service a run changed, after the run against before it, on the emulator.

The run is a real ``optimize`` (policy fixed) whose journal is then dated back, as if it had
finished some minutes ago (``date_back_journal``); the lab writes minute-by-minute ECS and load-balancer metrics
before and after it (``ecs_optimizer_lab.minute_metrics``), and ``verify`` reads them back.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import pytest

from ecs_optimizer.core.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSED, EXIT_TOO_EARLY
from ecs_optimizer.verify import signals as sg
from ecs_optimizer.verify import verdicts as vd
from ecs_optimizer.verify.windows import windows_for
from ecs_optimizer_lab.minute_metrics import MinuteLoad, date_back_journal, service_loads, write_minute_metrics
from ecs_optimizer_lab.readback import read_state
from ecs_optimizer_lab.task_stops import deployment_stop, oom_stop, put_task_stops
from helpers import FAST, write_json
from plan_snapshots import FLEET, SERVICE
from report_schema import verify_errors

WINDOW = "30m"
#: How long ago the dated-back run finished: the after window (30 min asked) is still filling,
#: so it ends now and an alarm set now falls inside it.
FINISHED_AGO = dt.timedelta(minutes=20)
STEADY = MinuteLoad(cpu=30.0, memory=40.0, requests=1000.0, errors_5xx=1.0, response_time=0.120)
#: frontend after a bad cut: a hundred times the 5xx responses, same traffic.
FAILING = MinuteLoad(cpu=30.0, memory=40.0, requests=1000.0, errors_5xx=100.0, response_time=0.120)


@pytest.fixture
def network_file(tmp_path: Path) -> str:
    return write_json(tmp_path / "network-outputs.json", FLEET.exports("network"))


def optimize(run_cli, outputs_file: str, journal: Path, *extra: str) -> None:
    result = run_cli(
        "optimize", "--outputs", outputs_file, "--policy", "fixed", *FAST, "--journal", str(journal), *extra
    )
    assert result.exit_code == 0, result.stderr


def write_load(client, start: dt.datetime, end: dt.datetime, loads: Mapping[str, MinuteLoad]) -> None:
    network = FLEET.exports("network")
    services = service_loads(FLEET.exports("compute"), loads, STEADY)
    write_minute_metrics(client("cloudwatch"), FLEET.cluster_name, network["albArnSuffix"], services, start, end)


def run_verify(run_cli, journal: Path, outputs_file: str, network_file: str, *extra: str):
    return run_cli(
        "verify", "--journal", str(journal), "--outputs", outputs_file, "--network-outputs", network_file,
        "--window", WINDOW, *extra,
    )  # fmt: skip


def report(result) -> Dict[str, Any]:
    data = json.loads(result.stdout)
    errors = verify_errors(data)
    assert not errors, "verify JSON breaks the schema:\n" + "\n".join(errors)
    return data


def signal(data: Dict[str, Any], service: str, name: str) -> Dict[str, Any]:
    svc = next(s for s in data["services"] if s["service"] == service)
    return next(s for s in svc["signals"] if s["signal"] == name)


def verdicts(data: Dict[str, Any]) -> Dict[str, str]:
    return {s["service"]: s["verdict"] for s in data["services"]}


@pytest.fixture
def finished_run(outputs_file, run_cli, client, tmp_path) -> Tuple[Path, dt.datetime, dt.datetime]:
    """A real run, finished FINISHED_AGO, with steady load before it."""
    journal = tmp_path / "run.jsonl"
    optimize(run_cli, outputs_file, journal)
    start, end = date_back_journal(journal, FINISHED_AGO + dt.timedelta(minutes=1))
    write_load(client, start - dt.timedelta(minutes=40), start, {})
    return journal, start, end


def test_a_5xx_regression_after_the_run_is_named_with_before_and_after(
    finished_run, outputs_file, network_file, run_cli, client
):
    journal, _, end = finished_run
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {"frontend": FAILING})
    result = run_verify(run_cli, journal, outputs_file, network_file, "--format", "json")
    assert result.exit_code == EXIT_REGRESSED, result.stderr
    data = report(result)
    assert verdicts(data) == {"frontend": "regressed", "api-gateway": "healthy", "processing-service": "healthy"}
    rate = signal(data, "frontend", "5xx rate")
    assert rate["judgement"] == "regressed"
    # the rate is computed from what was written: 1 and 100 errors in 1000 requests a minute
    assert rate["before"] == pytest.approx(100 * STEADY.errors_5xx / STEADY.requests)
    assert rate["after"] == pytest.approx(100 * FAILING.errors_5xx / FAILING.requests)
    frontend = next(s for s in data["services"] if s["service"] == "frontend")
    assert frontend["reason"].startswith("5xx rate 0.10% -> 10.00%")
    healthy = signal(data, "api-gateway", "5xx rate")
    assert healthy["judgement"] == "ok" and healthy["before"] == pytest.approx(healthy["after"])
    p99 = signal(data, "api-gateway", "p99 response time")
    assert p99["judgement"] == "ok" and p99["after"] == pytest.approx(STEADY.response_time)
    # the internal service has no target group: CPU, memory, alarms and (the outputs name the
    # task-stop log) OOM stops only
    assert {
        s["signal"] for s in next(s for s in data["services"] if s["service"] == "processing-service")["signals"]
    } == {
        "peak CPU",
        "peak memory",
        "alarms",
        "OOM stops",
    }
    assert signal(data, "processing-service", "peak CPU")["after"] == pytest.approx(STEADY.cpu)
    # the table names the signal, before -> after, and the log line says what regressed
    table = run_verify(run_cli, journal, outputs_file, network_file)
    assert table.exit_code == EXIT_REGRESSED
    assert "frontend: regressed: 5xx rate 0.10% -> 10.00%" in table.stdout
    assert "regressed: frontend: 5xx rate" in table.stderr


def test_slower_answers_and_a_memory_peak_near_the_limit_regress(
    finished_run, outputs_file, network_file, run_cli, client
):
    journal, _, end = finished_run
    slow = MinuteLoad(cpu=30.0, memory=40.0, requests=1000.0, errors_5xx=1.0, response_time=0.480)
    tight = MinuteLoad(cpu=30.0, memory=96.0)
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {"api-gateway": slow, "processing-service": tight})
    result = run_verify(run_cli, journal, outputs_file, network_file, "--format", "json")
    assert result.exit_code == EXIT_REGRESSED, result.stderr
    data = report(result)
    assert verdicts(data) == {"frontend": "healthy", "api-gateway": "regressed", "processing-service": "regressed"}
    p99 = signal(data, "api-gateway", "p99 response time")
    assert p99["judgement"] == "regressed"
    assert (p99["before"], p99["after"]) == (pytest.approx(STEADY.response_time), pytest.approx(slow.response_time))
    memory = signal(data, "processing-service", "peak memory")
    assert (memory["judgement"], memory["before"], memory["after"]) == ("regressed", STEADY.memory, tight.memory)
    # a higher ceiling than the peak: the same rise is no regression
    relaxed = run_verify(run_cli, journal, outputs_file, network_file, "--max-peak-memory", "97", "--format", "json")
    assert verdicts(report(relaxed))["processing-service"] == "healthy"


def test_all_healthy_exits_0_and_reads_in_one_batch(
    finished_run, outputs_file, network_file, run_cli, client, contexts
):
    journal, _, end = finished_run
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {})
    result = run_verify(run_cli, journal, outputs_file, network_file, "--format", "json")
    assert result.exit_code == EXIT_OK, result.stderr
    data = report(result)
    assert set(verdicts(data).values()) == {"healthy"}
    assert data["summary"] == {"healthy": 3, "regressed": 0, "tooEarly": 0}
    calls = contexts[-1].recorder.counts
    # 3 services: 2 ECS queries each, 3 load-balancer queries per target group: one call
    assert calls["cloudwatch:GetMetricData"] == 1
    assert calls["cloudwatch:DescribeAlarmHistory"] == 1
    assert contexts[-1].recorder.mutating() == {}
    for fmt in ("markdown", "csv", "html", "table"):
        shown = run_verify(run_cli, journal, outputs_file, network_file, "--format", fmt)
        assert shown.exit_code == EXIT_OK, (fmt, shown.stderr)
        assert "api-gateway" in shown.stdout
    csv_rows = run_verify(run_cli, journal, outputs_file, network_file, "--format", "csv").stdout.splitlines()
    assert csv_rows[0] == "service,verdict,signal,judgement,before,after,unit,detail"
    assert len(csv_rows) == 1 + sum(len(s["signals"]) for s in data["services"])


def test_an_alarm_that_went_to_alarm_after_the_run_is_a_regression(
    finished_run, outputs_file, network_file, run_cli, client
):
    journal, _, end = finished_run
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {})
    alarm = f"cpu-high-{'api-gateway'}-{FLEET.suffix}"
    client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed")
    result = run_verify(run_cli, journal, outputs_file, network_file, "--format", "json")
    assert result.exit_code == EXIT_REGRESSED, result.stderr
    data = report(result)
    assert verdicts(data)["api-gateway"] == "regressed"
    fired = signal(data, "api-gateway", "alarms")
    assert fired["judgement"] == "regressed" and (fired["before"], fired["after"]) == (0, 1)
    assert alarm in fired["detail"]
    assert verdicts(data)["frontend"] == "healthy"


def test_too_early_is_its_own_verdict_never_healthy(outputs_file, network_file, run_cli, client, tmp_path):
    journal = tmp_path / "run.jsonl"
    optimize(run_cli, outputs_file, journal)
    start, end = date_back_journal(journal, dt.timedelta(minutes=3))
    write_load(client, start - dt.timedelta(minutes=40), start, {})
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {})
    result = run_verify(run_cli, journal, outputs_file, network_file, "--format", "json")
    assert result.exit_code == EXIT_TOO_EARLY, result.stderr
    data = report(result)
    assert set(verdicts(data).values()) == {"too early"}
    assert all(s["datapointsAfter"] < vd.Thresholds().min_datapoints for s in data["services"])
    assert data["windows"]["complete"] is False
    # a lower bar for "enough data" judges them
    assert run_verify(run_cli, journal, outputs_file, network_file, "--min-datapoints", "1").exit_code == EXIT_OK


def test_rollback_regressed_restores_exactly_the_regressed_services(
    outputs_file, network_file, run_cli, client, tmp_path
):
    before = read_state(client, FLEET)
    journal = tmp_path / "run.jsonl"
    optimize(run_cli, outputs_file, journal)
    optimized = read_state(client, FLEET)
    start, end = date_back_journal(journal, FINISHED_AGO + dt.timedelta(minutes=1))
    write_load(client, start - dt.timedelta(minutes=40), start, {})
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {"frontend": FAILING})
    lines_before = len(journal.read_text().splitlines())
    result = run_verify(run_cli, journal, outputs_file, network_file, "--rollback-regressed", *FAST, "--format", "json")
    assert result.exit_code == EXIT_REGRESSED, result.stderr
    data = report(result)
    assert [s["service"] for s in data["rollback"]["services"]] == ["frontend"]
    assert data["rollback"]["services"][0]["status"] == "restored"
    after = read_state(client, FLEET)
    frontend, api = SERVICE["frontend"], SERVICE["api-gateway"]
    assert optimized["services"][frontend] != before["services"][frontend]
    assert after["services"][frontend] == before["services"][frontend]
    assert after["services"][api] == optimized["services"][api]  # healthy: left as the run set it
    # write-ahead: each restoring write is in the journal, intent then outcome, frontend's only
    added = [json.loads(line) for line in journal.read_text().splitlines()[lines_before:]]
    intents = [line for line in added if line["kind"] == "intent"]
    assert intents and len([line for line in added if line["kind"] == "outcome"]) == len(intents)
    assert {c["service"] for line in intents for c in line["changes"]} == {"frontend"}


@pytest.mark.parametrize("fleet", [FLEET.with_task_stop_log()], ids=["task-stop-log"])
def test_a_task_stopped_for_memory_after_the_run_is_a_regression(
    fleet, outputs_file, network_file, run_cli, client, tmp_path
):
    journal = tmp_path / "run.jsonl"
    optimize(run_cli, outputs_file, journal)
    start, end = date_back_journal(journal, FINISHED_AGO + dt.timedelta(minutes=1))
    write_load(client, start - dt.timedelta(minutes=40), start, {})
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {})
    put_task_stops(
        client("logs"),
        str(fleet.task_stop_log_group),
        [
            # the deployment's own replacements say nothing about memory; the kill after it does
            deployment_stop(fleet, "processing-service", end - dt.timedelta(seconds=30)),
            oom_stop(fleet, "processing-service", end + dt.timedelta(minutes=5)),
            oom_stop(fleet, "frontend", start - dt.timedelta(minutes=10)),  # before the run: context only
        ],
    )
    result = run_verify(run_cli, journal, outputs_file, network_file, "--format", "json")
    assert result.exit_code == EXIT_REGRESSED, result.stderr
    data = report(result)
    assert verdicts(data) == {"frontend": "healthy", "api-gateway": "healthy", "processing-service": "regressed"}
    stops = signal(data, "processing-service", "OOM stops")
    assert (stops["judgement"], stops["before"], stops["after"]) == ("regressed", 0, 1)
    assert (signal(data, "frontend", "OOM stops")["before"], signal(data, "frontend", "OOM stops")["after"]) == (1, 0)
    assert not any("OOM stops not read" in n for n in data["notes"])


def test_without_the_task_stop_log_verify_says_it_did_not_read_oom_stops(
    finished_run, outputs_file, network_file, run_cli, client, tmp_path
):
    journal, _, end = finished_run
    write_load(client, end, dt.datetime.now(dt.timezone.utc), {})
    # the outputs of a compute stack from before the task-stop log
    older = {k: v for k, v in json.loads(Path(outputs_file).read_text()).items() if k != "taskStopLogGroupName"}
    older_file = str(write_json(tmp_path / "older-compute-outputs.json", older))
    data = report(run_verify(run_cli, journal, older_file, network_file, "--format", "json"))
    assert any("OOM stops not read" in n and "taskStopLogGroupName" in n for n in data["notes"])
    assert all(s["signal"] != "OOM stops" for svc in data["services"] for s in svc["signals"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--journal", "missing.jsonl"], "missing.jsonl: cannot read journal"),
        (["--journal", "{bad}"], "not valid JSON"),
        (["--journal", "{run}", "--service", "nope"], "--service nope does not appear in the journal"),
        (["--journal", "{run}", "--window", "soon"], "--window 'soon'"),
        (["--journal", "{run}", "--period", "90"], "--period 90: expected a multiple of 60"),
    ],
)
def test_bad_input_exits_2_with_one_line(outputs_file, network_file, run_cli, tmp_path, args, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    run = tmp_path / "run.jsonl"
    run.write_text(
        json.dumps({"kind": "run", "cluster": FLEET.cluster_name, "time": "2026-01-01T00:00:00.000Z"}) + "\n"
    )
    filled = [a.replace("{bad}", str(bad)).replace("{run}", str(run)) for a in args]
    result = run_cli("verify", *filled, "--outputs", outputs_file, "--network-outputs", network_file)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("ecs-optimizer: error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr


def test_a_journal_of_another_cluster_is_bad_input(outputs_file, network_file, run_cli, tmp_path):
    run = tmp_path / "run.jsonl"
    run.write_text(
        json.dumps({"kind": "run", "cluster": "ecs-cluster-other", "time": "2026-01-01T00:00:00.000Z"}) + "\n"
    )
    result = run_cli("verify", "--journal", str(run), "--outputs", outputs_file, "--network-outputs", network_file)
    assert result.exit_code == EXIT_BAD_INPUT
    assert "the journal's cluster is ecs-cluster-other" in result.stderr


def test_windows_and_read_plan():
    start = dt.datetime(2026, 1, 1, 10, 0, 30, tzinfo=dt.timezone.utc)
    end = dt.datetime(2026, 1, 1, 10, 20, 10, tzinfo=dt.timezone.utc)
    now = dt.datetime(2026, 1, 1, 10, 45, 50, tzinfo=dt.timezone.utc)
    w = windows_for(start, end, dt.timedelta(hours=1), now)
    # after: from the next whole minute to the last whole minute before now; before: as long
    assert (w.after.start.minute, w.after.end.minute) == (21, 45)
    assert w.before.end == dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.timezone.utc)
    assert w.before.length == w.after.length == dt.timedelta(minutes=24)
    assert w.events_after.end == now and not w.complete
    # a short run: one range spans both windows; a long one: the two windows apart
    assert sg.read_plan(1000, w) == [w.span]
    long_run = windows_for(start, end + dt.timedelta(days=2), dt.timedelta(hours=1), now + dt.timedelta(days=3))
    assert sg.read_plan(1000, long_run) == [long_run.before, long_run.after]
    assert sg.calls_for(1000, 60) == 2 and sg.calls_for(500, 250) == 2 and sg.calls_for(0, 10) == 0


def test_thresholds_decide_the_judgement():
    t = vd.Thresholds()
    assert vd.error_rate(0, 1000, 5, 1000, t).judgement == vd.Judgement.OK  # 0.5 points: under 1
    assert vd.error_rate(0, 1000, 20, 1000, t).judgement == vd.Judgement.REGRESSED
    assert vd.error_rate(50, 1000, 70, 1000, t).judgement == vd.Judgement.OK  # +2 points, but 1.4x
    assert vd.error_rate(0, 1000, 50, 60, t).judgement == vd.Judgement.NOT_JUDGED  # 60 requests
    assert vd.p99([0.1] * 10, [0.3] * 10, t).judgement == vd.Judgement.REGRESSED
    assert vd.p99([0.010] * 10, [0.030] * 10, t).judgement == vd.Judgement.OK  # 3x, but +20 ms
    # a cut raises utilization by design: a rise below the ceiling is fine
    assert vd.peak(vd.Signal.PEAK_CPU, [30.0], [70.0], t.max_peak_cpu, t).judgement == vd.Judgement.OK
    assert vd.peak(vd.Signal.PEAK_MEMORY, [60.0], [97.0], t.max_peak_memory, t).judgement == vd.Judgement.REGRESSED
    assert vd.peak(vd.Signal.PEAK_MEMORY, [95.0], [96.0], t.max_peak_memory, t).judgement == vd.Judgement.OK
    alarm = vd.events(vd.Signal.ALARMS, None, 1, "")
    assert vd.verdict_of([alarm], 0, t) == vd.Verdict.REGRESSED  # an event counts even early
    assert vd.verdict_of([], 3, t) == vd.Verdict.TOO_EARLY


def test_a_run_that_changed_no_service_has_nothing_to_verify(outputs_file, network_file, run_cli, tmp_path):
    """A journal with no AWS change (a dry run's, or the Pulumi-first path's file edits)."""
    run = tmp_path / "run.jsonl"
    run.write_text(
        json.dumps({"kind": "run", "cluster": FLEET.cluster_name, "time": "2026-01-01T00:00:00.000Z"}) + "\n"
    )
    result = run_verify(run_cli, run, outputs_file, network_file, "--format", "json")
    assert result.exit_code == EXIT_OK, result.stderr
    data = report(result)
    assert data["services"] == [] and "the run changed no service: nothing to verify" in data["notes"]


def test_the_pulumi_first_path_is_verified_around_its_deployment(outputs_file, network_file, run_cli, client, tmp_path):
    """optimize --via-pulumi journals only its stack-file edits; `pulumi up` applies them later.
    verify --since/--until judges every service around that deployment."""
    run = tmp_path / "via-pulumi.jsonl"
    written = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    run.write_text(
        json.dumps({"kind": "run", "cluster": FLEET.cluster_name, "time": written.isoformat()[:23] + "Z"}) + "\n"
    )
    deployed = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=22)
    up_done = deployed + dt.timedelta(minutes=1)
    write_load(client, deployed - dt.timedelta(minutes=40), deployed, {})
    write_load(client, up_done, dt.datetime.now(dt.timezone.utc), {"frontend": FAILING})
    since, until = (t.isoformat().replace("+00:00", "Z") for t in (deployed, up_done))
    result = run_verify(
        run_cli, run, outputs_file, network_file, "--since", since, "--until", until, "--format", "json"
    )
    assert result.exit_code == EXIT_REGRESSED, result.stderr
    data = report(result)
    assert verdicts(data) == {"frontend": "regressed", "api-gateway": "healthy", "processing-service": "healthy"}
    assert data["run"]["start"] == since[:19] + "Z"
    # its way back is a revert through review, not the journal
    refused = run_verify(run_cli, run, outputs_file, network_file, "--since", since, "--rollback-regressed")
    assert refused.exit_code == EXIT_BAD_INPUT and "reverting its stack files" in refused.stderr
    bad = run_verify(run_cli, run, outputs_file, network_file, "--since", until, "--until", since)
    assert bad.exit_code == EXIT_BAD_INPUT and "is before --since" in bad.stderr


def test_verify_needs_the_compute_outputs(run_cli, tmp_path, monkeypatch):
    run = tmp_path / "run.jsonl"
    run.write_text(
        json.dumps({"kind": "run", "cluster": FLEET.cluster_name, "time": "2026-01-01T00:00:00.000Z"}) + "\n"
    )
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", FLEET.suffix)
    result = run_cli("verify", "--journal", str(run))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "verify needs the compute outputs (--outputs FILE or --stack NAME)" in result.stderr
