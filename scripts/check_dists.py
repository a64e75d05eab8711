"""Check the built distributions: each wheel holds only its own package, py.typed included,
versions move in lockstep, every adapter pins the core exactly, and the demo pins the core and
the three adapters exactly and registers ``mcp-tools demo`` (the ``mcp_tools.cli`` entry point)."""

from __future__ import annotations

import email
import pathlib
import sys
import tarfile
import zipfile

from packaging.requirements import Requirement  # installed with build and twine

EXPECTED = {
    "mcp_tools_core": ("mcp_tools", "mcp-tools-core"),
    "mcp_tools_django": ("mcp_tools_django", "mcp-tools-django"),
    "mcp_tools_flask": ("mcp_tools_flask", "mcp-tools-flask"),
    "mcp_tools_fastapi": ("mcp_tools_fastapi", "mcp-tools-fastapi"),
    "mcp_tools_demo": ("mcp_tools_demo", "mcp-tools-demo"),
}
ADAPTERS = ("mcp_tools_django", "mcp_tools_flask", "mcp_tools_fastapi")
DEMO_ENTRY_POINT = "demo = mcp_tools_demo.cli:register"


def fail(message: str) -> None:
    print(f"check_dists: {message}", file=sys.stderr)
    raise SystemExit(1)


def exact_pins(requires: list[str], distribution: str) -> list[str]:
    """``distribution``'s requirements as ``name==version`` strings (extras left out)."""
    found = [Requirement(r) for r in requires]
    return [f"{r.name}{r.specifier}" for r in found if r.name == distribution]


def main(dist: pathlib.Path) -> None:
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    count = len(EXPECTED)
    if len(wheels) != count or len(sdists) != count:
        fail(f"expected {count} wheels and {count} sdists, found {len(wheels)} and {len(sdists)}")
    versions: dict[str, str] = {}
    requires: dict[str, list[str]] = {}
    entry_points: dict[str, str] = {}
    for wheel in wheels:
        stem = wheel.name.split("-")[0]
        if stem not in EXPECTED:
            fail(f"unexpected wheel {wheel.name}")
        package, _ = EXPECTED[stem]
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
            if top != {package}:
                fail(f"{wheel.name} contains {sorted(top)}, expected only {package}")
            if f"{package}/py.typed" not in names:
                fail(f"{wheel.name} lacks {package}/py.typed")
            if any(n.endswith((".pyc", "__pycache__/")) for n in names):
                fail(f"{wheel.name} contains compiled files")
            meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
            meta = email.message_from_bytes(zf.read(meta_name))
            entry_points_name = meta_name.replace("/METADATA", "/entry_points.txt")
            if entry_points_name in names:
                entry_points[stem] = zf.read(entry_points_name).decode()
        versions[stem] = str(meta["Version"])
        requires[stem] = [str(r) for r in meta.get_all("Requires-Dist") or []]
        if not meta.get_all("Classifier"):
            fail(f"{wheel.name} has no classifiers")
        if not meta.get_payload():
            fail(f"{wheel.name} has no long description")
    if len(set(versions.values())) != 1:
        fail(f"versions are not in lockstep: {versions}")
    version = versions["mcp_tools_core"]
    for stem in ADAPTERS:
        pins = exact_pins(requires[stem], "mcp-tools-core")
        if pins != [f"mcp-tools-core=={version}"]:
            fail(f"{stem} must pin mcp-tools-core=={version}, found {pins}")
    for stem in ("mcp_tools_core", *ADAPTERS):
        if any(exact_pins(requires[stem], "mcp-tools-demo")):
            fail(f"{stem} depends on mcp-tools-demo: nothing may")
    for stem in ("mcp_tools_core", *ADAPTERS):
        distribution = EXPECTED[stem][1]
        pins = exact_pins(requires["mcp_tools_demo"], distribution)
        if pins != [f"{distribution}=={version}"]:
            fail(f"mcp_tools_demo must pin {distribution}=={version}, found {pins}")
    lines = entry_points.get("mcp_tools_demo", "").replace(" ", "").splitlines()
    if "[mcp_tools.cli]" not in lines or DEMO_ENTRY_POINT.replace(" ", "") not in lines:
        fail(f"mcp_tools_demo must declare the entry point [mcp_tools.cli] {DEMO_ENTRY_POINT}")
    for sdist in sdists:
        with tarfile.open(sdist) as tf:
            names = tf.getnames()
        if not any(n.endswith("/pyproject.toml") for n in names):
            fail(f"{sdist.name} lacks pyproject.toml")
        if not any(n.endswith("/py.typed") for n in names):
            fail(f"{sdist.name} lacks py.typed")
    print(f"check_dists: {count} wheels and {count} sdists at {version} are well formed")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
