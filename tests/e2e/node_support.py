"""Running the npm package `@crystallize/node-klarna` from a test: install it, run a script.

The package is installed by name once per test session into a temporary folder (the `node` and
`node_modules` fixtures in `tests/e2e/conftest.py`), and each script under `node/` is run with
`NODE_PATH` pointing at it. A script reads one JSON input file and prints one JSON summary.

Without Node.js or npm, or when the package cannot be installed, the tests are skipped, unless
`KCO_SANDBOX_REQUIRE_NODE=1`, which turns that into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.live import LiveServer

PACKAGE = "@crystallize/node-klarna@4"
SCRIPTS = Path(__file__).parent / "node"
INSTALL_TIMEOUT = 300.0
RUN_TIMEOUT = 60.0
# What the library prints when an answer has no `Klarna-Correlation-Id` header.
CORRELATION_WARNING = "do not contain klarna correlation id"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when `KCO_SANDBOX_REQUIRE_NODE=1`."""
    if os.environ.get("KCO_SANDBOX_REQUIRE_NODE") == "1":
        pytest.fail(f"KCO_SANDBOX_REQUIRE_NODE=1 but {reason}")
    pytest.skip(reason)


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def find_node() -> str:
    path = shutil.which("node")
    if path is None:
        unavailable("`node` is not on PATH (Node.js is needed for the node client test)")
    return path


def install_package(prefix: Path) -> Path:
    """`npm install` the package into `prefix`; its `node_modules`."""
    npm = shutil.which("npm")
    if npm is None:
        unavailable("`npm` is not on PATH (it installs the node client under test)")
    env = {**os.environ, "npm_config_update_notifier": "false"}
    command = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"]
    command += ["--prefix", str(prefix), PACKAGE]
    try:
        done = subprocess.run(
            command,
            cwd=prefix,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        unavailable(f"`npm install {PACKAGE}` did not finish in {INSTALL_TIMEOUT:.0f}s")
    if done.returncode != 0:
        unavailable(
            f"`npm install {PACKAGE}` failed (exit {done.returncode}):\n{_tail(done.stderr)}"
        )
    modules = prefix / "node_modules"
    if not (modules / "@crystallize" / "node-klarna" / "package.json").is_file():
        unavailable(f"`npm install {PACKAGE}` left no package in {modules}")
    return modules


def run_script(
    node: str,
    node_modules: Path,
    script: str,
    request: dict[str, Any],
    server: LiveServer,
    folder: Path,
) -> tuple[dict[str, Any], str]:
    """Run `node/<script>` on `request`; its summary and its stderr (the library's warnings)."""
    input_file = folder / f"{Path(script).stem}-input.json"
    input_file.write_text(json.dumps(request))
    done = subprocess.run(
        [node, str(SCRIPTS / script), str(input_file)],
        cwd=folder,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"node exited {done.returncode}\nstderr:\n{done.stderr}\nserver log:\n{server.output()}"
    )
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary, done.stderr
