"""Generate the feature reference of docs/observations.md from the encoder specs.

    python -m tools.observation_docs docs/observations.md          # rewrite
    python -m tools.observation_docs docs/observations.md --check  # verify

The generated part sits between :data:`BEGIN` and :data:`END`; the prose
around it is left alone. A test runs the check, so the reference cannot drift
from the code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

from townlet.core.observations.encoders import (
    CompactEncoder,
    CompactParams,
    FullEncoder,
    FullParams,
    HybridEncoder,
    HybridParams,
)
from townlet.core.observations.spec import Component, ObservationSpec

__all__ = ["BEGIN", "END", "builtin_specs", "reference_markdown", "update_file"]

BEGIN: Final = "<!-- BEGIN generated: observation specs -->\n"
END: Final = "<!-- END generated -->"


def builtin_specs() -> list[ObservationSpec]:
    """The specs of the built-in encoders with default params."""
    return [
        FullEncoder(FullParams()).spec,
        HybridEncoder(HybridParams()).spec,
        CompactEncoder(CompactParams()).spec,
    ]


def _num(value: float) -> str:
    return f"{value:g}"


def _component_table(comp: Component) -> list[str]:
    if comp.is_map:
        lines = ["| channel | name | range | meaning |", "|---:|---|---|---|"]
        lines += [
            f"| {i} | `{f.name}` | [{_num(f.low)}, {_num(f.high)}] | {f.description} |"
            for i, f in enumerate(comp.features)
        ]
        return lines
    lines = ["| index | feature | range | meaning |", "|---:|---|---|---|"]
    lines += [
        f"| {i} | `{f.name}` | [{_num(f.low)}, {_num(f.high)}] | {f.description} |"
        for i, f in enumerate(comp.features)
    ]
    return lines


def reference_markdown(specs: list[ObservationSpec] | None = None) -> str:
    """The generated block: per encoder its components, then every feature."""
    specs = specs or builtin_specs()
    out: list[str] = []
    seen: dict[tuple[object, ...], str] = {}
    for spec in specs:
        out.append(f"### `{spec.encoder}`\n")
        out.append(
            f"Spec version {spec.version}, hash `{spec.hash}`, {spec.size} floats per agent "
            f"(default params).\n"
        )
        out.append("| component | shape | dtype | values | holds |")
        out.append("|---|---|---|---:|---|")
        for comp in spec.components:
            shape = "×".join(str(s) for s in comp.shape)
            out.append(
                f"| `{comp.name}` | {shape} | {comp.dtype} | {comp.size} | {comp.description} |"
            )
        out.append("")
        for comp in spec.components:
            key = (comp.shape, comp.features)
            if key in seen:
                out.append(f"`{comp.name}`: as in {seen[key]}.\n")
                continue
            seen[key] = f"`{spec.encoder}`"
            out.append(f"#### `{spec.encoder}` · `{comp.name}`\n")
            out.extend(_component_table(comp))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def update_file(path: Path, check: bool = False) -> bool:
    """Rewrite (or with ``check`` only compare) the generated block; True if current."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path}: markers {BEGIN.strip()!r} … {END!r} not found")
    head, rest = text.split(BEGIN, 1)
    body, tail = rest.split(END, 1)
    fresh = reference_markdown()
    if body == fresh:
        return True
    if not check:
        path.write_text(head + BEGIN + fresh + END + tail, encoding="utf-8")
    return False


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, nargs="?", default=Path("docs/observations.md"))
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    current = update_file(args.path, check=args.check)
    if args.check and not current:
        print(f"{args.path} is stale; run: python -m tools.observation_docs {args.path}")
        return 1
    print(f"{args.path}: {'up to date' if current else 'updated'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
