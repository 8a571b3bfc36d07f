"""A runnable copy of the real Azure Functions Python worker, with its gRPC protos compiled into it.

The worker in ../shared/functions-worker/ is exported unmodified and read-only, and ships neither its `.proto`
files nor the generated `*_pb2.py` modules. The protos it was built with are vendored beside this module
(`protos/`, from the same commit); they are compiled with grpc_tools the way the worker repository's own build
does, and the imports protoc writes are rewritten to the package path the worker imports them from.
"""

from __future__ import annotations

import re
import shutil
import stat
import sys
from pathlib import Path

from grpc_tools import protoc

SHARED_WORKER = Path(__file__).resolve().parents[4] / "shared" / "functions-worker"
PROTOS = Path(__file__).resolve().with_name("protos")
PROTO_FILES = ("shared/NullableTypes.proto", "identity/ClaimsIdentityRpc.proto", "FunctionRpc.proto")
PACKAGE = "azure_functions_worker.protos"
# protoc writes `from shared import NullableTypes_pb2 as ...` and `import FunctionRpc_pb2 as ...`.
_FROM_SUBPACKAGE = re.compile(r"^from (shared|identity) import (\w+_pb2)", re.MULTILINE)
_PLAIN_IMPORT = re.compile(r"^import (\w+_pb2)", re.MULTILINE)


def worker_available() -> bool:
    return (SHARED_WORKER / "python" / "prodV4" / "worker.py").is_file()


def prepare_worker(destination: Path, source: Path = SHARED_WORKER) -> Path:
    """Copy the worker to `destination` and compile its protos there; returns the folder holding worker.py.

    The copy is made writable: CI lays ../shared out without write bits, and copying keeps a folder's mode."""
    shutil.copytree(source / "azure_functions_worker", destination / "azure_functions_worker")
    shutil.copy2(source / "python" / "prodV4" / "worker.py", destination / "worker.py")
    for path in [destination, *destination.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    compile_protos(destination / "azure_functions_worker" / "protos")
    return destination


def compile_protos(out: Path) -> None:
    # protoc names generated modules after the import paths it is given: compile from a staging tree laid out as
    # the worker's package, then fix the imports so they resolve inside `azure_functions_worker.protos`.
    staging = out / "_staging"
    shutil.copytree(PROTOS, staging, ignore=shutil.ignore_patterns("LICENSE", "*.md"))
    well_known = Path(protoc.__file__).with_name("_proto")
    args = ["protoc", f"-I{staging}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}"]
    if protoc.main([*args, *(str(staging / name) for name in PROTO_FILES)]) != 0:
        raise RuntimeError(f"protoc failed to compile {PROTO_FILES} from {PROTOS}")
    shutil.rmtree(staging)
    for generated in out.rglob("*_pb2*.py"):
        source = generated.read_text(encoding="utf-8")
        source = _FROM_SUBPACKAGE.sub(rf"from {PACKAGE}.\1 import \2", source)
        source = _PLAIN_IMPORT.sub(rf"from {PACKAGE} import \1", source)
        generated.write_text(source, encoding="utf-8")


def import_protos(worker: Path):
    """The compiled `azure_functions_worker.protos` of a prepared worker, for the host's side of the channel.

    Imported from the copy itself so both sides speak the messages compiled from the same files; a process can
    hold only one compiled copy (protobuf refuses a second registration of the same .proto names).
    """
    if str(worker) not in sys.path:
        sys.path.insert(0, str(worker))
    from azure_functions_worker import protos

    return protos
