"""Write a goldens file as the generators here do: scalars on their own line, one case per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_goldens(path: Path, data: dict[str, Any]) -> None:
    """``data``'s lists one case a line, dicts one named case a line, other values as they are."""
    lines = ["{"]
    for key, value in data.items():
        if isinstance(value, list):
            body = ",\n".join("  " + json.dumps(case) for case in value)
            lines.append(f" {json.dumps(key)}: [\n{body}\n ],")
        elif isinstance(value, dict):
            body = ",\n".join(f"  {json.dumps(name)}: {json.dumps(case)}" for name, case in value.items())
            lines.append(f" {json.dumps(key)}: {{\n{body}\n }},")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines[-1] = lines[-1].rstrip(",")
    path.write_text("\n".join([*lines, "}"]) + "\n")
