"""The network lever measured from flow logs, and its migration taken one step at a time:
``savings --migration-step`` writes the network stack file (journalled), checks the endpoints
from their metrics, and ``rollback`` puts the file back byte for byte."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from ecs_optimizer.network.lever import ASSUMED_AWS_SHARE
from ecs_optimizer.network.nat_flow_split import NatInterface, classify
from ecs_optimizer.network.steps import endpoint_metric
from helpers import FAST, write_json
from plan_snapshots import FLEET
from test_network_lever import (
    FROM_DESTINATION_GIB,
    FROM_SOURCE_GIB,
    LOOKBACK_DAYS,
    run_savings,
    savings_args,
    seed_network,
)

HOURS = Decimal(730)
REQUIRED = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"]
#: The network stack file: comments, quoting and an unrelated key must survive the edit.
NETWORK_STACK = (
    "# Network layer, dev stack.\n"
    "config:\n"
    "  network:tier: dev\n"
    "  network:interfaceEndpoints: [ecr.api, sts]  # sts for the app\n"
    '  network:azCount: "3"\n'
    "# end of file\n"
)


def hour_ago(hours: int) -> int:
    end = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return int((end - dt.timedelta(hours=hours, minutes=-10)).timestamp() * 1000)


def nat_interface(client: Callable[[str], Any], gateway: str) -> Dict[str, str]:
    address = client("ec2").describe_nat_gateways(NatGatewayIds=[gateway])["NatGateways"][0]["NatGatewayAddresses"][0]
    return {"eni": address["NetworkInterfaceId"], "ip": address["PrivateIp"]}


def flow(eni: str, src: str, dst: str, nbytes: int, action: str = "ACCEPT") -> str:
    return f"2 123456789012 {eni} {src} {dst} 443 49152 6 10 {nbytes} 1700000000 1700000060 {action} OK"


@pytest.fixture
def flow_network(outputs, client, tmp_path) -> Dict[str, Any]:
    """One NAT gateway with metrics, and flow-log records of its interface over the lookback."""
    data = seed_network(client, 1, LOOKBACK_DAYS)
    data["vpcCidr"] = "10.0.0.0/16"
    gateway = client("ec2").describe_nat_gateways()["NatGateways"][0]["NatGatewayId"]
    nat = nat_interface(client, gateway)
    s3 = client("ec2").describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{FLEET.region}.s3"]}]
    )["PrefixLists"][0]["PrefixListId"]
    s3_address = client("ec2").get_managed_prefix_list_entries(PrefixListId=s3)["Entries"][0]["Cidr"].split("/")[0]
    s3_host = s3_address[: s3_address.rindex(".")] + ".10"
    records = [
        flow(nat["eni"], nat["ip"], s3_host, 3000),  # to S3 (image layers): AWS-bound
        flow(nat["eni"], s3_host, nat["ip"], 9000),  # S3's answer: AWS-bound
        flow(nat["eni"], nat["ip"], "198.51.100.7", 1000),  # to the internet
        flow(nat["eni"], "198.51.100.7", nat["ip"], 2000),  # the internet's answer
        flow(nat["eni"], "10.0.8.5", nat["ip"], 3000),  # inside leg: the same bytes again, not counted
        flow(nat["eni"], nat["ip"], "198.51.100.7", 50000, "REJECT"),  # rejected: skipped
        flow("eni-0another", "10.0.8.5", s3_host, 70000),  # another interface: not NAT traffic
        f"2 123456789012 {nat['eni']} - - - - - - - 1700000000 1700000060 - NODATA",
    ]
    logs = client("logs")
    logs.create_log_group(logGroupName=data["flowLogGroupName"])
    logs.create_log_stream(logGroupName=data["flowLogGroupName"], logStreamName=f"{nat['eni']}-all")
    logs.put_log_events(
        logGroupName=data["flowLogGroupName"],
        logStreamName=f"{nat['eni']}-all",
        logEvents=[{"timestamp": hour_ago(2), "message": m} for m in records],
    )
    return data


def savings_json(run_cli, outputs_file: str, network: str, *extra: str) -> Dict[str, Any]:
    return json.loads(run_savings(run_cli, outputs_file, network, "json", *extra).stdout)


def network_lines(data: Dict[str, Any]) -> Dict[str, float]:
    return {c["item"]: c["quantity"] for c in data["components"] if c["scope"] == "network" and c["state"] == "before"}


# ----------------------------------------------------------------------------- flow-log split


def test_flow_logs_split_nat_traffic_into_aws_and_internet(flow_network, outputs_file, run_cli, tmp_path):
    data = savings_json(run_cli, outputs_file, write_json(tmp_path / "network.json", flow_network))
    # outside legs: 3,000 + 9,000 bytes with S3, 1,000 + 2,000 with the internet -> 80% AWS-bound
    share = Fraction(3000 + 9000, 3000 + 9000 + 1000 + 2000)
    assert share == Fraction(4, 5)
    processed = Decimal((FROM_SOURCE_GIB + FROM_DESTINATION_GIB)) * HOURS  # 2,920 GB a month, from CloudWatch
    aws = processed * Decimal(4) / Decimal(5)
    lines = network_lines(data)
    assert lines["NAT data processing, AWS-bound"] == float(aws) == 2336.0
    assert lines["NAT data processing, internet-bound"] == float(processed - aws) == 584.0
    notes = " ".join(data["notes"])
    assert f"measured from the flow logs ({flow_network['flowLogGroupName']}): 80.0% of 15,000 bytes" in notes
    assert "over 4 records" in notes and "estimated" not in notes


def test_without_a_flow_log_group_the_estimate_is_used_and_said(outputs, client, outputs_file, run_cli, tmp_path):
    data = seed_network(client, 1, LOOKBACK_DAYS)
    del data["flowLogGroupName"]
    report = savings_json(run_cli, outputs_file, write_json(tmp_path / "network.json", data))
    processed = Decimal((FROM_SOURCE_GIB + FROM_DESTINATION_GIB)) * HOURS
    share = Decimal(ASSUMED_AWS_SHARE.numerator) / Decimal(ASSUMED_AWS_SHARE.denominator)
    assert network_lines(report)["NAT data processing, AWS-bound"] == float(processed * share)
    notes = " ".join(report["notes"])
    assert "estimated: 50% of the NAT-processed bytes counted as AWS-bound" in notes
    assert "the network outputs name no flowLogGroupName" in notes


def test_a_named_group_that_does_not_exist_falls_back_to_the_estimate(outputs, client, outputs_file, run_cli, tmp_path):
    data = dict(seed_network(client, 1, LOOKBACK_DAYS), vpcCidr="10.0.0.0/16")
    report = savings_json(run_cli, outputs_file, write_json(tmp_path / "network.json", data))
    notes = " ".join(report["notes"])
    assert "estimated: 50%" in notes and f"the flow-log group {data['flowLogGroupName']} does not exist" in notes


def test_classify_counts_only_outside_legs_of_nat_interfaces():
    vpc = ipaddress.ip_network("10.0.0.0/16")
    aws = [ipaddress.ip_network("52.216.0.0/15")]
    split = classify(
        [
            flow("eni-n", "10.0.0.9", "52.217.1.1", 5),
            flow("eni-n", "10.0.0.9", "8.8.8.8", 7),
            flow("eni-n", "10.0.1.4", "10.0.0.9", 100),
            "garbage",
            flow("eni-x", "10.0.0.9", "8.8.8.8", 1000),
        ],
        [NatInterface("nat-1", "eni-n", "10.0.0.9")],
        vpc,
        aws,
        "g",
    )
    assert (split.aws_bytes, split.internet_bytes, split.records, split.skipped) == (5, 7, 2, 1)


# ----------------------------------------------------------------------------- migration steps


@pytest.fixture
def network_stack(tmp_path: Path) -> Path:
    layer = tmp_path / "stacks" / "network"
    layer.mkdir(parents=True)
    (layer / "Pulumi.yaml").write_text("name: network\nruntime: nodejs\n")
    path = layer / "Pulumi.dev.yaml"
    path.write_text(NETWORK_STACK)
    return path


def step(run_cli, outputs_file: str, network: str, name: str, *extra: str):
    return run_cli(*savings_args(outputs_file, network, "--migration-step", name, *extra))


def put_endpoint_bytes(client: Callable[[str], Any], vpc: str, endpoints: Dict[str, str], services: List[str]) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(minutes=30)
    for service in services:
        metric = endpoint_metric(FLEET.region, vpc, service, endpoints[service])
        client("cloudwatch").put_metric_data(
            Namespace=metric["Namespace"],
            MetricData=[
                {
                    "MetricName": metric["MetricName"],
                    "Dimensions": metric["Dimensions"],
                    "Timestamp": now,
                    "Value": 4096.0,
                    "Unit": "Bytes",
                }
            ],
        )


def test_the_endpoints_step_writes_the_network_file_and_rollback_restores_it(
    outputs, client, outputs_file, run_cli, tmp_path, network_stack
):
    network = write_json(tmp_path / "network.json", seed_network(client, 3, LOOKBACK_DAYS))
    journal = tmp_path / "step.jsonl"
    pristine = network_stack.read_bytes()
    result = step(
        run_cli,
        outputs_file,
        network,
        "endpoints",
        "--write-config",
        str(network_stack),
        "--step-journal",
        str(journal),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["file"]["status"] == "written" and report["journal"] == str(journal)
    # the file's own list (with sts) keeps its order and style; the missing required ones are added
    wanted = ["ecr.api", "sts", "ecr.dkr", "logs", "secretsmanager", "ssm"]
    assert report["file"]["changes"] == [
        {"key": "network:interfaceEndpoints", "before": ["ecr.api", "sts"], "after": wanted}
    ]
    text = network_stack.read_text()
    assert (
        "  network:interfaceEndpoints: [ecr.api, sts, ecr.dkr, logs, secretsmanager, ssm] # sts for the app\n" in text
    )
    assert text.startswith("# Network layer, dev stack.\n") and text.endswith("# end of file\n")
    assert '  network:azCount: "3"\n' in text
    # nothing in AWS changed: savings only reads
    assert run_cli("rollback", "--journal", str(journal), *FAST).exit_code == 0
    assert network_stack.read_bytes() == pristine
    again = run_cli("rollback", "--journal", str(journal), *FAST, "--format", "json")
    assert again.exit_code == 0
    assert [f["status"] for f in json.loads(again.stdout)["configFiles"]] == ["unchanged"]


def test_verify_reads_the_endpoint_metrics(outputs, client, outputs_file, run_cli, tmp_path):
    data = seed_network(client, 3, LOOKBACK_DAYS)
    data["vpcEndpoints"] = {name: f"vpce-{name.replace('.', '')}" for name in REQUIRED} | {"s3": "vpce-s3"}
    network = write_json(tmp_path / "network.json", data)
    put_endpoint_bytes(client, data["vpcId"], data["vpcEndpoints"], ["ecr.dkr", "logs"])
    failed = step(run_cli, outputs_file, network, "verify", "--format", "json")
    assert failed.exit_code == 4, failed.stderr
    evidence = {e["service"]: e for e in json.loads(failed.stdout)["verification"]["endpoints"]}
    assert {s: e["bytesProcessed"] for s, e in evidence.items()} == {"ecr.dkr": 4096, "logs": 4096, "secretsmanager": 0}
    assert "secretsmanager (vpce-secretsmanager) processed no bytes" in failed.stderr
    put_endpoint_bytes(client, data["vpcId"], data["vpcEndpoints"], ["secretsmanager"])
    passed = step(run_cli, outputs_file, network, "verify")
    assert passed.exit_code == 0, passed.stderr
    assert "verification (passed)" in passed.stdout and "secret reads" in passed.stdout


def test_the_nat_step_waits_for_endpoints_and_verification_then_writes_and_rolls_back(
    outputs, client, outputs_file, run_cli, tmp_path, network_stack
):
    data = seed_network(client, 3, LOOKBACK_DAYS)
    early = step(
        run_cli,
        outputs_file,
        write_json(tmp_path / "early.json", data),
        "natStrategy",
        "--write-config",
        str(network_stack),
    )
    assert early.exit_code == 2
    assert "the endpoints step is not done yet" in early.stderr and "nothing written" in early.stderr
    data["vpcEndpoints"] = {name: f"vpce-{name.replace('.', '')}" for name in REQUIRED} | {"s3": "vpce-s3"}
    network = write_json(tmp_path / "network.json", data)
    unverified = step(run_cli, outputs_file, network, "natStrategy", "--write-config", str(network_stack))
    assert unverified.exit_code == 2
    assert "the verification has not passed (ecr.dkr (vpce-ecrdkr) processed no bytes" in unverified.stderr
    assert network_stack.read_text() == NETWORK_STACK
    put_endpoint_bytes(client, data["vpcId"], data["vpcEndpoints"], list(("ecr.dkr", "logs", "secretsmanager")))
    journal = tmp_path / "nat.jsonl"
    done = step(
        run_cli,
        outputs_file,
        network,
        "natStrategy",
        "--write-config",
        str(network_stack),
        "--step-journal",
        str(journal),
    )
    assert done.exit_code == 0, done.stderr
    assert 'network:natStrategy: (absent) -> "single"' in done.stdout
    assert "network:natStrategy: single\n" in network_stack.read_text()
    assert run_cli("rollback", "--journal", str(journal), *FAST).exit_code == 0
    assert network_stack.read_text() == NETWORK_STACK


@pytest.mark.parametrize(
    "args, message",
    [
        (["--write-config", "X"], "belong to a network migration step: pass --migration-step"),
        (
            ["--migration-step", "endpoints"],
            "--migration-step endpoints writes network:interfaceEndpoints: pass --write-config",
        ),
        (
            ["--migration-step", "verify", "--write-config", "NET"],
            "--migration-step verify writes nothing: drop --write-config",
        ),
        (["--migration-step", "endpoints", "--write-config", "COMPUTE"], "expected a stack file of the network layer"),
        (["--migration-step", "endpoints", "--format", "csv"], "--migration-step prints table or json, not csv"),
    ],
)
def test_bad_step_input_is_one_line_and_changes_nothing(
    args, message, outputs, client, outputs_file, run_cli, tmp_path, network_stack
):
    compute = tmp_path / "stacks" / "compute"
    compute.mkdir(parents=True)
    (compute / "Pulumi.yaml").write_text("name: compute\n")
    (compute / "Pulumi.dev.yaml").write_text("config:\n  compute:tier: dev\n")
    network = write_json(tmp_path / "network.json", seed_network(client, 3, LOOKBACK_DAYS))
    paths = {"NET": str(network_stack), "COMPUTE": str(compute / "Pulumi.dev.yaml"), "X": str(network_stack)}
    result = run_cli(
        "savings", "--outputs", outputs_file, "--network-outputs", network, *[paths.get(a, a) for a in args]
    )
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
    assert network_stack.read_text() == NETWORK_STACK
