"""A stand-in for the AWS Savings Plans API, which moto does not emulate.

It answers the calls the optimizer makes and the one a test needs to seed the account, with
AWS's documented request and response shapes (``rest-json``, ``POST /<Operation>``, global
endpoint ``savingsplans.amazonaws.com``):

``DescribeSavingsPlansOfferingRates``
    Filters ``savingsPlanTypes``, ``products``, ``serviceCodes``, ``savingsPlanPaymentOptions``,
    ``usageTypes``, ``operations``, ``savingsPlanOfferingIds`` and ``filters`` (``region``
    only), and pages with ``maxResults`` / ``nextToken``.
``DescribeSavingsPlans``
    Filters ``states``, ``savingsPlanIds`` and ``filters`` (``region``, ``term``,
    ``savings-plan-type``, ``payment-option``), and pages the same way.
``CreateSavingsPlan``
    Buys a plan from an offering (an ``offeringId`` the rates answer) with an hourly
    ``commitment``; it is ``active`` at once (AWS queues it or waits for the payment).

The offering rates are LAB DATA (:data:`LAB_RATES`): Fargate Compute Savings Plans rates for a
few regions, shaped like AWS's (a rate per usage type, per term and payment option), with
discounts deliberately unlike the optimizer's offline table, so a test can tell which one a
report used. They are not prices the product uses or ships.

Fault injection: ``MOTO_SAVINGSPLANS_FAULT=<ErrorCode>`` (``AccessDeniedException``,
``ThrottlingException``, ...) makes every call fail with that error, read at each call.

Gaps (see docs/testing.md): only Fargate Linux rates of the regions in :data:`LAB_RATES`; no
EC2/Lambda/SageMaker rates; no ``DescribeSavingsPlansOfferings``, ``DeleteQueuedSavingsPlan``,
``ReturnSavingsPlan`` or tags; a plan never expires or retires; one account.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

#: Environment variable: the error code every Savings Plans call fails with.
FAULT_ENV = "MOTO_SAVINGSPLANS_FAULT"

HOST = "savingsplans.amazonaws.com"
SERVICE = "savingsplans"
ACCOUNT = "123456789012"

ONE_YEAR = 31_536_000
THREE_YEARS = 94_608_000
PAYMENT_OPTIONS = ("No Upfront", "Partial Upfront", "All Upfront")

#: Lab data: region -> its usage-type prefix, and per usage-type suffix the on-demand rate the
#: lab's discounts below apply to (the public us-east-1 Fargate rates, for realism).
_LAB_ON_DEMAND: Dict[str, Decimal] = {
    "Fargate-vCPU-Hours:perCPU": Decimal("0.04048"),
    "Fargate-GB-Hours": Decimal("0.004445"),
    "Fargate-ARM-vCPU-Hours:perCPU": Decimal("0.03238"),
    "Fargate-ARM-GB-Hours": Decimal("0.00356"),
}
_LAB_PREFIXES = {"us-east-1": "USE1", "us-east-2": "USE2", "us-west-2": "USW2", "eu-west-1": "EU"}
#: Lab data: (duration, payment option) -> (vCPU discount, GB discount). A vCPU-hour and a
#: GB-hour are discounted differently, as on AWS.
_LAB_DISCOUNTS: Dict[Tuple[int, str], Tuple[Decimal, Decimal]] = {
    (ONE_YEAR, "No Upfront"): (Decimal("0.24"), Decimal("0.22")),
    (ONE_YEAR, "Partial Upfront"): (Decimal("0.26"), Decimal("0.24")),
    (ONE_YEAR, "All Upfront"): (Decimal("0.27"), Decimal("0.25")),
    (THREE_YEARS, "No Upfront"): (Decimal("0.50"), Decimal("0.48")),
    (THREE_YEARS, "Partial Upfront"): (Decimal("0.52"), Decimal("0.50")),
    (THREE_YEARS, "All Upfront"): (Decimal("0.53"), Decimal("0.51")),
}


def _offering_id(duration: int, payment: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lab-compute-sp/{duration}/{payment}"))


def _lab_rates() -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    for (duration, payment), (vcpu_off, gb_off) in _LAB_DISCOUNTS.items():
        offering = {
            "offeringId": _offering_id(duration, payment),
            "paymentOption": payment,
            "planType": "Compute",
            "durationSeconds": duration,
            "currency": "USD",
            "planDescription": f"{duration // ONE_YEAR} year {payment} Compute Savings Plan",
        }
        for region, prefix in _LAB_PREFIXES.items():
            for suffix, on_demand in _LAB_ON_DEMAND.items():
                off = vcpu_off if "vCPU" in suffix else gb_off
                rows.append(
                    {
                        "savingsPlanOffering": offering,
                        "rate": str((on_demand * (1 - off)).quantize(Decimal("0.0000001"))),
                        "unit": "Hrs",
                        "productType": "Fargate",
                        "serviceCode": "AmazonECS",
                        "usageType": f"{prefix}-{suffix}",
                        "operation": "",
                        "properties": [{"name": "region", "value": region}],
                    }
                )
    return rows


#: Lab data: every seeded offering rate (not prices the product uses).
LAB_RATES: List[Dict[str, Any]] = _lab_rates()


class SavingsPlansError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class SavingsPlansStandIn:
    """The account's Savings Plans and the offering rates; thread-safe."""

    rates: List[Dict[str, Any]] = field(default_factory=lambda: list(LAB_RATES))
    plans: List[Dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.rates = list(LAB_RATES)
            self.plans = []

    # ------------------------------------------------------------------ dispatch

    def handle(self, operation: str, body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        """One request: the operation (the path without its slash) and its JSON body."""
        try:
            fault = os.environ.get(FAULT_ENV)
            if fault:
                status = 400 if fault.startswith("Throttling") else 403 if "Denied" in fault else 500
                raise SavingsPlansError(status, fault, f"injected fault: {fault}")
            try:
                request = json.loads(body or b"{}")
            except ValueError as exc:
                raise SavingsPlansError(400, "ValidationException", f"malformed JSON body: {exc}") from exc
            handlers = {
                "DescribeSavingsPlansOfferingRates": self.describe_offering_rates,
                "DescribeSavingsPlans": self.describe_savings_plans,
                "CreateSavingsPlan": self.create_savings_plan,
            }
            if operation not in handlers:
                raise SavingsPlansError(404, "UnknownOperationException", f"operation {operation} is not emulated")
            answer = handlers[operation](request)
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        except SavingsPlansError as exc:
            headers = {"Content-Type": "application/json", "x-amzn-ErrorType": exc.code}
            return exc.status, headers, json.dumps({"message": exc.message}).encode()

    # ------------------------------------------------------------------ operations

    def describe_offering_rates(self, request: Dict[str, Any]) -> Dict[str, Any]:
        def keep(row: Dict[str, Any]) -> bool:
            offering = row["savingsPlanOffering"]
            checks = (
                ("savingsPlanTypes", offering["planType"]),
                ("savingsPlanPaymentOptions", offering["paymentOption"]),
                ("savingsPlanOfferingIds", offering["offeringId"]),
                ("products", row["productType"]),
                ("serviceCodes", row["serviceCode"]),
                ("usageTypes", row["usageType"]),
                ("operations", row["operation"]),
            )
            if any(request.get(key) and value not in request[key] for key, value in checks):
                return False
            properties = {p["name"]: p["value"] for p in row["properties"]}
            for flt in request.get("filters") or []:
                if flt.get("name") != "region":
                    raise SavingsPlansError(400, "ValidationException", f"filter {flt.get('name')} is not emulated")
                if properties.get("region") not in flt.get("values", []):
                    return False
            return True

        with self._lock:
            rows = [row for row in self.rates if keep(row)]
        page, token = _page(rows, request)
        return {"searchResults": page, "nextToken": token}

    def describe_savings_plans(self, request: Dict[str, Any]) -> Dict[str, Any]:
        fields = {"region": "region", "savings-plan-type": "savingsPlanType", "payment-option": "paymentOption"}

        def keep(plan: Dict[str, Any]) -> bool:
            if request.get("states") and plan["state"] not in request["states"]:
                return False
            if request.get("savingsPlanIds") and plan["savingsPlanId"] not in request["savingsPlanIds"]:
                return False
            for flt in request.get("filters") or []:
                name, values = flt.get("name"), [str(v) for v in flt.get("values", [])]
                if name == "term":
                    if str(plan["termDurationInSeconds"] // ONE_YEAR) not in values:
                        return False
                elif name in fields:
                    if plan[fields[name]] not in values:
                        return False
                else:
                    raise SavingsPlansError(400, "ValidationException", f"filter {name} is not emulated")
            return True

        with self._lock:
            plans = [dict(p) for p in self.plans if keep(p)]
        page, token = _page(plans, request)
        return {"savingsPlans": page, "nextToken": token}

    def create_savings_plan(self, request: Dict[str, Any]) -> Dict[str, Any]:
        offering_id = request.get("savingsPlanOfferingId")
        commitment = request.get("commitment")
        if not offering_id or commitment is None:
            raise SavingsPlansError(400, "ValidationException", "savingsPlanOfferingId and commitment are required")
        try:
            hourly = Decimal(str(commitment))
        except ArithmeticError as exc:
            raise SavingsPlansError(400, "ValidationException", f"commitment {commitment!r} is not a number") from exc
        if hourly <= 0:
            raise SavingsPlansError(400, "ValidationException", "commitment must be positive")
        offering = next(
            (r["savingsPlanOffering"] for r in self.rates if r["savingsPlanOffering"]["offeringId"] == offering_id),
            None,
        )
        if offering is None:
            raise SavingsPlansError(400, "ValidationException", f"offering {offering_id} does not exist")
        start = datetime.now(timezone.utc).replace(microsecond=0)
        plan_id = str(uuid.uuid4())
        plan = {
            "offeringId": offering_id,
            "savingsPlanId": plan_id,
            "savingsPlanArn": f"arn:aws:savingsplans::{ACCOUNT}:savingsplan/{plan_id}",
            "description": offering["planDescription"],
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": (start + timedelta(seconds=offering["durationSeconds"])).isoformat().replace("+00:00", "Z"),
            "state": "active",
            "region": "",  # a Compute plan applies in every region
            "savingsPlanType": offering["planType"],
            "paymentOption": offering["paymentOption"],
            "productTypes": ["EC2", "Fargate", "Lambda"],
            "currency": offering["currency"],
            "commitment": str(hourly),
            "upfrontPaymentAmount": str(request.get("upfrontPaymentAmount") or "0"),
            "recurringPaymentAmount": str(hourly),
            "termDurationInSeconds": offering["durationSeconds"],
            "tags": dict(request.get("tags") or {}),
        }
        with self._lock:
            self.plans.append(plan)
        return {"savingsPlanId": plan_id}


def _page(items: List[Dict[str, Any]], request: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """One page of ``items`` from ``nextToken`` (an offset), ``maxResults`` at a time (AWS's
    maximum, 1000, when absent)."""
    try:
        start = int(request.get("nextToken") or 0)
    except ValueError as exc:
        raise SavingsPlansError(400, "ValidationException", "invalid nextToken") from exc
    size = int(request.get("maxResults") or 1000)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


#: The one stand-in of this process (the server's, or the in-process tests').
STAND_IN = SavingsPlansStandIn()


def operation_from_path(path: str) -> str:
    return path.strip("/").split("/")[-1]


def is_savings_plans_request(host: str, authorization: str) -> bool:
    """A request for this stand-in: sent to the global endpoint, or signed for the service
    (the emulator server receives every service on one host)."""
    if host.split(":")[0] == HOST:
        return True
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return len(scope) >= 4 and scope[3] == SERVICE
    return False


# ----------------------------------------------------------------------------- in-process (mock_aws)


def _botocore_handler(request: Any, **_: Any) -> Any:
    """A ``before-send`` handler answering Savings Plans requests while moto's mock is on."""
    from moto.core.models import botocore_stubber

    if not botocore_stubber.enabled:
        return None
    from urllib.parse import urlsplit

    from botocore.awsrequest import AWSResponse

    url = urlsplit(request.url)
    if not is_savings_plans_request(url.netloc, str(request.headers.get("Authorization", b""), "utf-8", "replace")):
        return None
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    status, headers, payload = STAND_IN.handle(operation_from_path(url.path), body)
    from moto.core.botocore_stubber import MockRawResponse

    return AWSResponse(request.url, status, headers, MockRawResponse(payload))


def patch_in_process() -> None:
    """Answer Savings Plans calls of sessions created from now on, under ``mock_aws``, and
    clear the stand-in's plans whenever a mock starts afresh (as moto resets its backends)."""
    from botocore import handlers
    from moto.core import models

    handlers.BUILTIN_HANDLERS.insert(0, ("before-send", _botocore_handler))
    original = models.MockAWS._enable_patching

    def enable_patching(self: Any, reset: bool = True) -> None:
        if reset:
            STAND_IN.reset()
        original(self, reset=reset)

    models.MockAWS._enable_patching = enable_patching  # type: ignore[method-assign]


class SavingsPlansApp:
    """WSGI middleware for the emulator server: Savings Plans requests go to the stand-in,
    every other request to moto."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Any:
        if not is_savings_plans_request(environ.get("HTTP_HOST", ""), environ.get("HTTP_AUTHORIZATION", "")):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, headers, payload = STAND_IN.handle(operation_from_path(environ.get("PATH_INFO", "")), body)
        reasons = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}
        start_response(
            f"{status} {reasons.get(status, 'Error')}", [*headers.items(), ("Content-Length", str(len(payload)))]
        )
        return [payload]
