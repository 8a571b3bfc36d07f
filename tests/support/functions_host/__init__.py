"""A stand-in Azure Functions host that runs the app in the real Python worker (see host.py)."""

from tests.support.functions_host.host import FunctionsHost, Invocation
from tests.support.functions_host.worker_copy import prepare_worker, worker_available

__all__ = ["FunctionsHost", "Invocation", "prepare_worker", "worker_available"]
