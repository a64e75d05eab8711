"""Collect the code samples of the documentation so that the tests can execute them.

Rules (also described in CONTRIBUTING.md):

- Every fenced block whose info string is ``python`` (or ``py``, ``pycon``) is a sample.
- A block whose first non-blank line starts with ``>>>`` is a doctest; any other block is run
  as a script. Top-level ``await`` is allowed (the block then runs in ``asyncio.run``).
- The blocks of one page run in order, in one namespace, so a page can build an example up
  step by step.
- ``<!-- skip: reason -->`` on the line before a fence (blank lines allowed in between) skips
  that block; the reason is mandatory and is reported.
- ``<!-- test-setup`` ... ``-->`` is Python run in the page's namespace at that point, hidden
  from the rendered page (for imports or stand-ins that would only distract the reader).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_LANGS = {"python", "py", "pycon", "python3"}

_FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_SKIP = re.compile(r"^\s*<!--\s*skip:\s*(?P<reason>.*?)\s*-->\s*$")
_SKIP_NO_REASON = re.compile(r"^\s*<!--\s*skip\s*:?\s*-->\s*$")
_SETUP_START = re.compile(r"^\s*<!--\s*test-setup\s*$")


@dataclass(frozen=True)
class Block:
    """One piece of code found in a Markdown file."""

    path: Path
    lineno: int  # 1-based line of the first code line
    code: str
    kind: str  # "script", "doctest" or "setup"
    skip_reason: str | None = None

    @property
    def location(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.lineno}"


def documentation_files() -> list[Path]:
    """Every page whose samples are executed: docs/**/*.md, README.md and CONTRIBUTING.md."""
    files = sorted((ROOT / "docs").rglob("*.md"))
    files += [p for p in (ROOT / "README.md", ROOT / "CONTRIBUTING.md") if p.exists()]
    return files


def _dedent(lines: list[str], indent: int) -> list[str]:
    return [line[indent:] if line[:indent].strip() == "" else line for line in lines]


def parse(path: Path) -> list[Block]:
    """The Python blocks and hidden set-up blocks of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending_skip: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SETUP_START.match(line):
            end = i + 1
            while end < len(lines) and lines[end].strip() != "-->":
                end += 1
            if end == len(lines):
                raise ValueError(f"{path}:{i + 1}: unterminated <!-- test-setup block")
            code = "\n".join(lines[i + 1 : end]) + "\n"
            blocks.append(Block(path, i + 2, code, "setup"))
            i = end + 1
            continue
        if _SKIP_NO_REASON.match(line):
            raise ValueError(f"{path}:{i + 1}: a skip marker needs a reason: <!-- skip: why -->")
        skip = _SKIP.match(line)
        if skip:
            pending_skip = skip.group("reason")
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group("fence")
            indent = len(fence.group("indent"))
            info = fence.group("info").strip().split()
            lang = info[0].lower() if info else ""
            end = i + 1
            closing = re.compile(rf"^[ ]{{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
            while end < len(lines) and not closing.match(lines[end]):
                end += 1
            body = _dedent(lines[i + 1 : end], indent)
            if lang in PYTHON_LANGS:
                code = "\n".join(body) + "\n"
                first = next((b.strip() for b in body if b.strip()), "")
                kind = "doctest" if first.startswith(">>>") else "script"
                blocks.append(Block(path, i + 2, code, kind, pending_skip))
            elif pending_skip is not None:
                raise ValueError(f"{path}:{i + 1}: skip marker before a non-Python block")
            pending_skip = None
            i = end + 1
            continue
        if line.strip() and pending_skip is not None:
            raise ValueError(f"{path}:{i + 1}: a skip marker must come right before a ```python fence")
        i += 1
    if pending_skip is not None:
        raise ValueError(f"{path}: a skip marker at the end of the file has no block")
    return blocks
