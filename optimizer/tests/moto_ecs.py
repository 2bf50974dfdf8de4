"""Make moto's ECS report deployments the way ECS does, for the tests only.

moto leaves ``deployments`` as they were at CreateService and counts no running tasks unless
MOTO_ECS_SERVICE_RUNNING says so, so a waiter written for real ECS would never see an update
complete. Here every UpdateService starts a new PRIMARY deployment of the service's current
task definition that has already COMPLETED with all tasks running, like a fast ECS.

``MOTO_FAIL_DEPLOYMENTS=svc-a,svc-b`` makes deployments of those services FAILED (with no
tasks running) whenever they run anything other than the task definition they were created
with, which is how a circuit breaker reports a bad revision.

Run as a script to serve moto on 127.0.0.1 with the patch: ``python moto_ecs.py PORT``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Dict, Iterator, Optional

FAIL_ENV = "MOTO_FAIL_DEPLOYMENTS"


def _failing(service: Any) -> bool:
    names = {n.strip() for n in os.environ.get(FAIL_ENV, "").split(",") if n.strip()}
    return service.name in names and service.task_definition != getattr(service, "_created_with", None)


def _deployment(service: Any, failed: bool) -> Dict[str, Any]:
    from moto.core.utils import utcnow

    now = utcnow()
    running = 0 if failed else service.desired_count
    return {
        "id": f"ecs-svc/{uuid.uuid4().int % 10**18}",
        "status": "PRIMARY",
        "taskDefinition": service.task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": running,
        "failedTasks": 1 if failed else 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "rolloutState": "FAILED" if failed else "COMPLETED",
        "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start."
        if failed
        else "ECS deployment completed.",
    }


def _settle(service: Any) -> None:
    failed = _failing(service)
    service.deployments = [_deployment(service, failed)]
    service.running_count = 0 if failed else service.desired_count
    service.pending_count = 0


def install() -> None:
    """Patch moto's ECS backend (idempotent)."""
    from moto.ecs.models import EC2ContainerServiceBackend

    if getattr(EC2ContainerServiceBackend, "_ecs_optimizer_patched", False):
        return
    original_create = EC2ContainerServiceBackend.create_service
    original_update = EC2ContainerServiceBackend.update_service

    def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = original_create(self, *args, **kwargs)
        service._created_with = service.task_definition
        _settle(service)
        return service

    def update_service(self: Any, service_properties: Dict[str, Any]) -> Any:
        service = original_update(self, service_properties)
        _settle(service)
        return service

    EC2ContainerServiceBackend.create_service = create_service
    EC2ContainerServiceBackend.update_service = update_service
    EC2ContainerServiceBackend._ecs_optimizer_patched = True


def serve(port: int) -> None:
    install()
    from moto.server import ThreadedMotoServer
    import threading

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto listening on 127.0.0.1:{port}", flush=True)
    threading.Event().wait()


@contextlib.contextmanager
def running_server(env: Optional[Dict[str, str]] = None) -> Iterator[str]:
    """This module served as a subprocess on a free 127.0.0.1 port; yields its URL."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**(env or os.environ), "PYTHONUNBUFFERED": "1"}
    # The server logs every request: into a file, since a pipe nobody reads fills up and
    # blocks the server mid-request.
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"moto server did not start: {log.read()[-2000:]}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
