"""The price table, the one task-pricing function, and live pricing through a stubbed Price List API."""

import datetime as dt
import json
from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber

from ecs_optimizer.pricing.prices import (
    HOURS_PER_MONTH,
    PRICE_TABLES,
    fargate_task_hourly,
    load_prices,
)

USE1 = PRICE_TABLES["us-east-1"]


def monthly(cpu, memory, arch="X86_64", prices=USE1):
    return fargate_task_hourly(cpu, memory, arch, prices) * HOURS_PER_MONTH


# ----------------------------------------------------------------- worked checks (docs/pricing.md)


def test_month_is_730_hours():
    assert HOURS_PER_MONTH == 730


def test_us_east_1_table_is_pricing_md():
    assert USE1.fargate_vcpu_hour_x86 == Decimal("0.04048")
    assert USE1.fargate_gb_hour_x86 == Decimal("0.004445")
    assert USE1.fargate_vcpu_hour_arm == Decimal("0.03238")
    assert USE1.fargate_gb_hour_arm == Decimal("0.00356")
    assert USE1.nat_gateway_hour == Decimal("0.045")
    assert USE1.nat_gateway_gb == Decimal("0.045")
    assert USE1.interface_endpoint_az_hour == Decimal("0.01")
    assert USE1.interface_endpoint_gb == Decimal("0.01")
    assert USE1.ecr_gb_month == Decimal("0.10")
    assert USE1.alarm_month == Decimal("0.10")
    assert USE1.as_of == "2026-11-01"
    assert USE1.source == "AWS public price list for us-east-1"


def test_one_half_vcpu_one_gb_task_all_month():
    vcpu_part = monthly(512, 0)
    memory_part = monthly(0, 1024)
    assert vcpu_part == Decimal("14.7752")
    assert memory_part == Decimal("3.24485")
    assert monthly(512, 1024) == Decimal("18.02005")
    assert round(monthly(512, 1024), 2) == Decimal("18.02")


def test_one_idle_nat_gateway_all_month():
    assert USE1.nat_gateway_hour * HOURS_PER_MONTH == Decimal("32.85")


def test_one_interface_endpoint_in_three_azs():
    assert USE1.interface_endpoint_az_hour * 3 * HOURS_PER_MONTH == Decimal("21.90")


def test_six_tasks_from_the_reference_notes():
    assert round(6 * monthly(512, 0), 2) == Decimal("88.65")
    assert round(6 * monthly(0, 1024), 2) == Decimal("19.47")


def test_arm_uses_the_arm_rates():
    assert monthly(1024, 2048, "ARM64") == Decimal("0.03238") * 730 + 2 * Decimal("0.00356") * 730
    assert monthly(1024, 2048, "ARM64") < monthly(1024, 2048, "X86_64")


def test_unknown_architecture_is_rejected():
    with pytest.raises(ValueError, match="WINDOWS"):
        fargate_task_hourly(512, 1024, "WINDOWS", USE1)


# ----------------------------------------------------------------- regions


def test_ohio_and_oregon_match_virginia_for_fargate_and_nat():
    for region in ("us-east-2", "us-west-2"):
        table = PRICE_TABLES[region]
        assert table.fargate_vcpu_hour_x86 == USE1.fargate_vcpu_hour_x86
        assert table.fargate_gb_hour_x86 == USE1.fargate_gb_hour_x86
        assert table.nat_gateway_hour == USE1.nat_gateway_hour


def test_every_region_is_dated_and_sourced_and_arm_is_cheaper():
    assert set(PRICE_TABLES) >= {
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-1",
        "ap-northeast-1",
    }
    for region, table in PRICE_TABLES.items():
        assert table.region == region
        assert table.as_of == "2026-11-01"
        assert table.source
        assert table.fargate_vcpu_hour_arm < table.fargate_vcpu_hour_x86
        assert table.fargate_gb_hour_arm < table.fargate_gb_hour_x86


def test_unknown_region_names_the_region_and_the_known_ones():
    with pytest.raises(ValueError) as err:
        load_prices("mars-north-1")
    assert "mars-north-1" in str(err.value)
    assert "us-east-1" in str(err.value) and "ap-northeast-1" in str(err.value)


def test_unknown_region_is_an_error_for_live_pricing_too():
    with pytest.raises(ValueError, match="mars-north-1"):
        load_prices("mars-north-1", source="live", session=object())


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="cache"):
        load_prices("us-east-1", source="cache")


# ----------------------------------------------------------------- live pricing (Stubber)


class FakeSession:
    """Hands out one stubbed client and records how it was asked for."""

    def __init__(self, client):
        self._client = client
        self.calls = []

    def client(self, service_name, region_name=None, **kwargs):
        self.calls.append((service_name, region_name))
        return self._client


def pricing_client():
    return boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def product(usage_type, usd):
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute",
                "attributes": {"usagetype": usage_type, "servicecode": "AmazonECS"},
                "sku": "SKU" + usage_type,
            },
            "serviceCode": "AmazonECS",
            "terms": {
                "OnDemand": {
                    "SKU.JRTCKXETXF": {
                        "priceDimensions": {
                            "SKU.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "hours",
                                "pricePerUnit": {"USD": usd},
                            }
                        }
                    }
                }
            },
        }
    )


def expected_params(usage_type, next_token=None):
    params = {
        "ServiceCode": "AmazonECS",
        "Filters": [{"Type": "TERM_MATCH", "Field": "usagetype", "Value": usage_type}],
        "FormatVersion": "aws_v1",
    }
    if next_token:
        params["NextToken"] = next_token
    return params


LIVE = {
    "EUC1-Fargate-vCPU-Hours:perCPU": "0.0500000000",
    "EUC1-Fargate-GB-Hours": "0.0060000000",
    "EUC1-Fargate-ARM-vCPU-Hours:perCPU": "0.0400000000",
    "EUC1-Fargate-ARM-GB-Hours": "0.0050000000",
}


def test_live_prices_replace_the_fargate_rates_and_match_usage_types_exactly():
    client = pricing_client()
    stub = Stubber(client)
    usage_types = list(LIVE)
    # x86 vCPU answer spans two pages and carries near-miss rows that must be ignored.
    stub.add_response(
        "get_products",
        {
            "FormatVersion": "aws_v1",
            "PriceList": [
                product("EUC1-Fargate-Windows-vCPU-Hours:perCPU", "0.09"),
                product("EUC1-Fargate-vCPU-Hours:perCPU-Ephemeral", "0.9"),
            ],
            "NextToken": "page-2",
        },
        expected_params(usage_types[0]),
    )
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": [product(usage_types[0], LIVE[usage_types[0]])]},
        expected_params(usage_types[0], "page-2"),
    )
    for usage_type in usage_types[1:]:
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": [product(usage_type, LIVE[usage_type])]},
            expected_params(usage_type),
        )
    session = FakeSession(client)
    warnings = []
    with stub:
        prices = load_prices("eu-central-1", source="live", session=session, warn=warnings.append)
        stub.assert_no_pending_responses()
    assert warnings == []
    assert session.calls == [("pricing", "us-east-1")]
    assert prices.fargate_vcpu_hour_x86 == Decimal("0.05")
    assert prices.fargate_gb_hour_x86 == Decimal("0.006")
    assert prices.fargate_vcpu_hour_arm == Decimal("0.04")
    assert prices.fargate_gb_hour_arm == Decimal("0.005")
    # items not read live come from the region's table
    table = PRICE_TABLES["eu-central-1"]
    assert prices.nat_gateway_hour == table.nat_gateway_hour
    assert prices.ecr_gb_month == table.ecr_gb_month
    assert prices.region == "eu-central-1"
    assert "Price List API" in prices.source
    assert prices.as_of == dt.datetime.now(dt.timezone.utc).date().isoformat()


def test_live_pricing_falls_back_to_the_table_on_an_api_error():
    client = pricing_client()
    stub = Stubber(client)
    stub.add_client_error(
        "get_products", service_error_code="AccessDeniedException", service_message="not allowed", http_status_code=400
    )
    warnings = []
    with stub:
        prices = load_prices("us-east-1", source="live", session=FakeSession(client), warn=warnings.append)
    assert prices == USE1
    assert len(warnings) == 1
    assert "AccessDeniedException" in warnings[0] and "2026-11-01" in warnings[0]


def test_live_pricing_falls_back_when_the_answer_is_ambiguous():
    client = pricing_client()
    stub = Stubber(client)
    usage_type = "USE1-Fargate-vCPU-Hours:perCPU"
    stub.add_response(
        "get_products",
        {"PriceList": [product(usage_type, "0.04048"), product(usage_type, "0.05")]},
        expected_params(usage_type),
    )
    warnings = []
    with stub:
        prices = load_prices("us-east-1", source="live", session=FakeSession(client), warn=warnings.append)
    assert prices == USE1
    assert "several prices" in warnings[0]


def test_live_pricing_falls_back_when_only_near_misses_come_back():
    client = pricing_client()
    stub = Stubber(client)
    usage_type = "USE1-Fargate-vCPU-Hours:perCPU"
    stub.add_response(
        "get_products",
        {"PriceList": [product("USE1-Fargate-ARM-vCPU-Hours:perCPU", "0.03238")]},
        expected_params(usage_type),
    )
    warnings = []
    with stub:
        prices = load_prices("us-east-1", source="live", session=FakeSession(client), warn=warnings.append)
    assert prices == USE1
    assert usage_type in warnings[0]
