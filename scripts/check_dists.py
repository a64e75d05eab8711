"""Check the built distributions: each wheel holds only its own package, py.typed included,
versions move in lockstep and every adapter pins the core exactly."""

from __future__ import annotations

import email
import pathlib
import sys
import tarfile
import zipfile

EXPECTED = {
    "mcp_tools_core": ("mcp_tools", "mcp-tools-core"),
    "mcp_tools_django": ("mcp_tools_django", "mcp-tools-django"),
    "mcp_tools_flask": ("mcp_tools_flask", "mcp-tools-flask"),
    "mcp_tools_fastapi": ("mcp_tools_fastapi", "mcp-tools-fastapi"),
}


def fail(message: str) -> None:
    print(f"check_dists: {message}", file=sys.stderr)
    raise SystemExit(1)


def main(dist: pathlib.Path) -> None:
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 4 or len(sdists) != 4:
        fail(f"expected 4 wheels and 4 sdists, found {len(wheels)} and {len(sdists)}")
    versions: dict[str, str] = {}
    requires: dict[str, list[str]] = {}
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
        versions[stem] = str(meta["Version"])
        requires[stem] = [str(r) for r in meta.get_all("Requires-Dist") or []]
        if not meta.get_all("Classifier"):
            fail(f"{wheel.name} has no classifiers")
        if not meta.get_payload():
            fail(f"{wheel.name} has no long description")
    if len(set(versions.values())) != 1:
        fail(f"versions are not in lockstep: {versions}")
    version = versions["mcp_tools_core"]
    for stem in ("mcp_tools_django", "mcp_tools_flask", "mcp_tools_fastapi"):
        pins = [r for r in requires[stem] if r.replace(" ", "").startswith("mcp-tools-core")]
        if pins != [f"mcp-tools-core=={version}"]:
            fail(f"{stem} must pin mcp-tools-core=={version}, found {pins}")
    for sdist in sdists:
        with tarfile.open(sdist) as tf:
            names = tf.getnames()
        if not any(n.endswith("/pyproject.toml") for n in names):
            fail(f"{sdist.name} lacks pyproject.toml")
        if not any(n.endswith("/py.typed") for n in names):
            fail(f"{sdist.name} lacks py.typed")
    print(f"check_dists: 4 wheels and 4 sdists at {version} are well formed")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
