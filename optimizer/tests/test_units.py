"""Unit tests of the AWS-side building blocks that need no fleet."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from ecs_optimizer.apply.journal import Journal
from ecs_optimizer.apply.journal_reader import read_journal
from ecs_optimizer.core.changes import Change, restore_plan
from ecs_optimizer.core.model import CapacityStrategy, ServiceState
from ecs_optimizer.live import metric_alarms, metrics
from ecs_optimizer.live import resources as res
from ecs_optimizer.live.aws import AwsSettings, Backoff, DryRunViolation, is_mutating, open_context
from ecs_optimizer.pricing.realised import realised_states
from ecs_optimizer_lab.fleet import fleet_from_plan
from helpers import ALARM_VOLATILE_FIELDS
from plan_snapshots import PROD_PLAN_DIR


@pytest.mark.parametrize(
    "op, mutating",
    [
        ("DescribeServices", False),
        ("ListServices", False),
        ("GetMetricData", False),
        ("BatchGetImage", False),
        ("RegisterTaskDefinition", True),
        ("UpdateService", True),
        ("PutMetricAlarm", True),
        ("DeleteParameter", True),
        ("TagResource", True),
        ("StartTask", True),
        ("StopTask", True),
        ("DeregisterTaskDefinition", True),
        ("SetAlarmState", True),
        ("PassRole", True),
    ],
)
def test_mutating_operations_are_everything_but_reads(op, mutating):
    assert is_mutating(op) is mutating


def test_dry_run_guard_refuses_mutations_even_when_called_directly(aws):
    ctx = open_context(AwsSettings(region="us-east-1", dry_run=True))
    ctx.ssm.describe_parameters()  # reads pass
    with pytest.raises(DryRunViolation, match="ssm:PutParameter"):
        ctx.ssm.put_parameter(Name="/x", Value="1", Type="String")
    with pytest.raises(DryRunViolation):
        ctx.session.client("sqs").create_queue(QueueName="q")  # any client of the session
    assert ctx.ssm.describe_parameters()["Parameters"] == []
    assert ctx.recorder.mutating() == {"ssm:PutParameter": 1, "sqs:CreateQueue": 1}


def _throttle(code="ThrottlingException"):
    return ClientError({"Error": {"Code": code, "Message": "slow down"}}, "Op")


def test_backoff_retries_transient_errors_then_gives_up():
    calls = []

    def flaky(fail_times, code):
        def fn():
            calls.append(1)
            if len(calls) <= fail_times:
                raise _throttle(code)
            return "ok"

        return fn

    fast = Backoff(attempts=3, base=0.0001, cap=0.001)
    assert fast.call(flaky(2, "ThrottlingException")) == "ok" and len(calls) == 3
    calls.clear()
    with pytest.raises(ClientError):
        fast.call(flaky(3, "ConcurrentUpdateException"))
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(ClientError):
        fast.call(flaky(1, "ValidationException"))  # not transient: no retry
    assert len(calls) == 1
    calls.clear()
    concurrent = ClientError(
        {"Error": {"Code": "ClientException", "Message": "Too many concurrent attempts to create a new revision"}},
        "RegisterTaskDefinition",
    )
    outcomes = iter([concurrent])

    def register():
        calls.append(1)
        err = next(outcomes, None)
        if err:
            raise err
        return "registered"

    assert fast.call(register) == "registered" and len(calls) == 2


def _service(deployments, running=2, desired=2):
    return {"deployments": deployments, "runningCount": running, "desiredCount": desired}


def test_rollout_status_follows_the_primary_deployment():
    new, old = "td:2", "td:1"
    primary = {"status": "PRIMARY", "taskDefinition": new, "rolloutState": "COMPLETED"}
    assert res.rollout_status(_service([primary]), new).ok
    assert res.rollout_status(_service([dict(primary, rolloutState="IN_PROGRESS")]), new) is None
    assert res.rollout_status(_service([primary], running=1), new) is None  # not steady yet
    failed = res.rollout_status(
        _service([dict(primary, rolloutState="FAILED", rolloutStateReason="circuit breaker")]), new
    )
    assert failed is not None and not failed.ok and failed.reason == "circuit breaker"
    # ECS has not switched to our deployment yet
    assert res.rollout_status(_service([dict(primary, taskDefinition=old)]), new) is None
    # the circuit breaker rolled back: old revision PRIMARY again, ours FAILED
    rolled = [
        dict(primary, taskDefinition=old, rolloutState="IN_PROGRESS"),
        {"status": "ACTIVE", "taskDefinition": new, "rolloutState": "FAILED"},
    ]
    assert res.rollout_status(_service(rolled), new).ok is False
    # no rolloutState reported: one deployment and a steady count means done
    bare = {"status": "PRIMARY", "taskDefinition": new}
    assert res.rollout_status(_service([bare]), new).ok
    assert res.rollout_status(_service([bare, {"status": "ACTIVE", "taskDefinition": old}]), new) is None


def test_keep_count_only_edits_the_standard_shape():
    standard = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": "keep",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
                    "action": {"type": "expire"},
                },
            ]
        }
    )
    assert res.keep_count(standard) == (10, True)
    edited = json.loads(res.with_keep_count(standard, 5))
    original = json.loads(standard)
    original["rules"][1]["selection"]["countNumber"] = 5
    assert edited == original
    assert res.keep_count(None) == (None, True)
    created = json.loads(res.with_keep_count(None, 5))
    assert [r["rulePriority"] for r in created["rules"]] == [1, 2]
    assert created["rules"][0]["selection"]["tagStatus"] == "untagged"
    assert created["rules"][1]["selection"]["countNumber"] == 5
    custom = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPrefixList": ["v"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 3,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )
    assert res.keep_count(custom) == (None, False)
    assert res.keep_count("not json") == (None, False)


def test_metric_math_alarm_keeps_its_queries_through_a_threshold_change(aws):
    """The observability layer's alarms of a blue/green service combine both target groups with
    metric math (the prod plan declares them); rewriting the threshold must send the same
    queries and no single-metric field."""
    declared = fleet_from_plan(PROD_PLAN_DIR).alarm("http-5xx-frontend-prod")
    queries = declared["Metrics"]
    assert any("Expression" in q for q in queries) and sum("MetricStat" in q for q in queries) == 2
    ctx = open_context(AwsSettings(region="us-east-1"))
    ctx.cloudwatch.put_metric_alarm(**declared)
    sent = []
    ctx.cloudwatch.raw.meta.events.register(
        "provide-client-params.cloudwatch.PutMetricAlarm", lambda params, **_: sent.append(dict(params))
    )
    before = metric_alarms.describe_alarms(ctx, ["http-5xx-frontend-prod"])["http-5xx-frontend-prod"]
    assert before["Metrics"] == queries

    assert before["Threshold"] != 25.0
    metric_alarms.set_alarm_threshold(ctx, before, 25.0)

    assert len(sent) == 1
    assert sent[0]["Metrics"] == queries
    assert not set(metric_alarms.SINGLE_METRIC_FIELDS) & set(sent[0]), "PutMetricAlarm refuses these beside Metrics"
    after = metric_alarms.describe_alarms(ctx, ["http-5xx-frontend-prod"])["http-5xx-frontend-prod"]
    assert after["Threshold"] == 25.0
    assert after["Metrics"] == queries
    volatile = ALARM_VOLATILE_FIELDS
    assert {k: v for k, v in after.items() if k not in volatile} == {
        k: v for k, v in before.items() if k not in volatile
    }
    assert ctx.cloudwatch.list_tags_for_resource(ResourceARN=after["AlarmArn"])["Tags"] == declared["Tags"]


def test_containers_must_fit_the_new_size():
    td = {
        "containerDefinitions": [
            {"name": "app", "cpu": 256, "memory": 1024},
            {"name": "sidecar", "cpu": 0, "memoryReservation": 128},
        ]
    }
    assert res.containers_fit(td, 512, 2048) is None
    assert "hard memory limit of 1024" in res.containers_fit(td, 512, 1024) or "reserve" in res.containers_fit(
        td, 512, 1024
    )
    assert "CPU units" in res.containers_fit(td, 128, 4096)


def test_restore_plan_uses_the_earliest_before_in_reverse_order():
    svc = {"cluster": "c", "serviceName": "s"}
    changes = [
        Change("a", "taskDefinition", "revision", "td:1", "td:2", svc),
        Change("a", "service", "taskDefinition", "td:1", "td:2", svc),
        Change("a", "service", "desiredCount", 3, 2, svc),
        Change("a", "service", "taskDefinition", "td:2", "td:1", svc),  # an automatic rollback
        Change("a", "alarm:x", "threshold", 80.0, 60.0, {"alarmName": "x"}),
    ]
    steps = restore_plan(changes)
    assert [s.resource for s in steps] == ["alarm:x", "service", "taskDefinition"]
    service = steps[1]
    assert service.before == {"taskDefinition": "td:1", "desiredCount": 3}
    assert service.after == {"taskDefinition": "td:1", "desiredCount": 2}


def test_journal_lines_are_on_disk_when_change_returns(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path, {"cluster": "c", "region": "r"})
    state = ServiceState(
        "a",
        512,
        1024,
        3,
        2,
        6,
        critical=False,
        strategy=CapacityStrategy(),
        ecr_keep_images=10,
        ecr_image_bytes=(3, 2, 1),
    )
    journal.snapshot(state)
    journal.change(Change("a", "taskDefinition", "cpu", 512, 256, {"cluster": "c", "serviceName": "a", "family": "a"}))
    assert len(path.read_text().splitlines()) == 3  # read through another handle, before close
    journal.change(
        Change(
            "a",
            "service",
            "capacityProviderStrategy",
            None,
            [
                {"capacityProvider": "FARGATE", "base": 1, "weight": 3},
                {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 7},
            ],
            {"cluster": "c", "serviceName": "a"},
        )
    )
    journal.close()
    contents = read_journal(str(path))
    before, after = realised_states(contents)
    assert before["a"] == state
    assert after["a"].cpu == 256 and after["a"].strategy == CapacityStrategy(1, 3, 7)


def test_history_is_rescaled_to_todays_reservation():
    t = [dt.datetime(2026, 1, 1, h, tzinfo=dt.timezone.utc) for h in range(3)]
    percent = {t[0]: 20.0, t[1]: 20.0, t[2]: 40.0}
    reserved = {t[0]: 3 * 512.0, t[1]: 3 * 512.0}  # the last hour has no Container Insights point
    assert metrics.as_share_of_now(percent, reserved, 2 * 256.0) == [60.0, 60.0, 40.0]


def test_metric_batches_respect_get_metric_data_limits():
    per_call = metrics.services_per_call(14)
    points = 14 * 24
    assert per_call * len(metrics.SPECS) <= metrics.MAX_QUERIES_PER_CALL
    assert per_call * len(metrics.SPECS) * points <= metrics.MAX_DATAPOINTS_PER_CALL
    assert metrics.services_per_call(455) >= 1


def test_default_journal_paths_never_collide(aws_env):
    from ecs_optimizer.apply.journal import default_path
    from ecs_optimizer.core.errors import BadInput

    now = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    first = default_path(now)
    assert str(first) == ".ecs-optimizer/journal-20260304T050607Z.jsonl"
    Journal(first, {"cluster": "c"}).close()
    second = default_path(now)
    assert str(second) == ".ecs-optimizer/journal-20260304T050607Z-2.jsonl"
    with pytest.raises(BadInput, match="the file exists"):
        Journal(first, {"cluster": "c"})


def _cli_with_command(tmp_path, body_lines):
    """A CLI process with one extra command whose body is ``body_lines`` (run under the CLI's
    own error handling and signal handlers); stdout and stderr are pipes."""
    import subprocess
    import sys

    script = tmp_path / "command.py"
    body = "".join(f"        {line}\n" for line in body_lines)
    script.write_text(
        "import sys, time\n"
        "from ecs_optimizer.cli import main as cli, options as cli_options\n"
        "from ecs_optimizer.apply.stop import STOP\n"
        "@cli.cli.command('work')\n"
        "def _work():\n"
        "    def body():\n"
        f"{body}"
        "    cli_options.run_guarded(body, 0)\n"
        "sys.argv = ['ecs-optimizer', 'work']\n"
        "cli.main()\n"
    )
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_signals_ask_the_run_to_stop_and_a_second_one_changes_nothing(tmp_path):
    """SIGTERM sets the stop request (the body ends itself); a second signal (SIGINT) is only
    logged, so nothing unwinds while work is in flight."""
    import signal

    proc = _cli_with_command(
        tmp_path,
        [
            "STOP.graceful = True",
            "print('ready', flush=True)",
            "while not STOP.requested: time.sleep(0.01)",
            "print('stopping', flush=True)",
            "time.sleep(0.5)  # still working when the second signal comes",
            "print('finished', STOP.signals, flush=True)",
            "return 6",
        ],
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline().strip() == "stopping"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 6
    assert out.strip() == "finished 2"
    assert "SIGTERM: stopping" in err and "SIGINT: already stopping" in err and "Traceback" not in err


def test_progress_plain_lines_on_change_of_state_and_a_live_table_on_a_terminal(caplog):
    import io
    import logging

    from rich.console import Console

    from ecs_optimizer.apply.progress import Progress

    plain = Progress(enabled=True, live=False)
    with caplog.at_level(logging.INFO, logger="ecs_optimizer.apply.progress"), plain:
        report = plain.reporter("api")
        report("PRIMARY IN_PROGRESS, 0/2 running")
        report("PRIMARY IN_PROGRESS, 0/2 running")  # unchanged within 30 s: no second line
        report("deployment completed")
        plain.done("api")
    lines = [r.getMessage() for r in caplog.records if r.name == "ecs_optimizer.apply.progress"]
    assert len(lines) == 2 and lines[0].startswith("deploying api: PRIMARY IN_PROGRESS") and "1 deploying" in lines[0]
    # a terminal gets a live table naming each deploying service and its state
    live = Progress(enabled=True, live=True)
    live.update("worker", "PRIMARY IN_PROGRESS, 1/3 running")
    out = io.StringIO()
    Console(file=out, width=100).print(live._table())
    assert "worker" in out.getvalue() and "1/3 running" in out.getvalue()
    with live:
        live.done("worker")
    assert "worker" not in live._rows


def test_a_signal_interrupts_a_read_only_command_at_once(tmp_path):
    import signal

    proc = _cli_with_command(tmp_path, ["print('ready', flush=True); time.sleep(30); return 0"])
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 6
    assert "interrupted by a signal" in err and "Traceback" not in err
