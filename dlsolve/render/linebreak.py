"""Display maths that fits the page: a rough width of LaTeX maths, and where to cut a formula.

:func:`display_lines` keeps a formula's own line breaks, cuts a line too wide at its top-level
``\\quad`` separators and then before its relations (``=``, ``\\le``), for ``gather``/``aligned``.
"""

from __future__ import annotations

import re

from dlsolve.render.notation import matching

#: About how many characters of maths fit on a line of the typeset keys.
LINE_CHARS = 72
_ZERO_WIDTH = {"left", "right", "big", "Big", "bigg", "Bigg", "displaystyle", "limits", "nolimits", "textstyle"}
_MATRICES = {"bmatrix", "pmatrix", "matrix", "vmatrix", "Bmatrix", "smallmatrix", "array", "cases", "aligned"}
_RELATIONS = ("=", r"\le", r"\ge", r"\approx", r"\leq", r"\geq", "<", ">", r"\to", r"\Rightarrow", r"\propto")


def _group(latex: str, index: int) -> tuple[str, int]:
    """The braced group (or single character / command) at ``index`` and the index after it."""
    while index < len(latex) and latex[index] == " ":
        index += 1
    if index >= len(latex):
        return "", index
    if latex[index] == "{":
        end = matching(latex, index)
        return latex[index + 1 : end - 1], end
    if latex[index] == "\\":
        match = re.compile(r"\\(?:[A-Za-z]+|.)").match(latex, index)
        return (match.group(), match.end()) if match else ("", index + 1)
    return latex[index], index + 1


def _environment_end(latex: str, index: int, name: str) -> tuple[int, int]:
    """(start of the matching ``\\end{name}``, index after it), nesting counted."""
    depth = 0
    pattern = re.compile(r"\\(begin|end)\{" + re.escape(name) + r"\}")
    for match in pattern.finditer(latex, index):
        depth += 1 if match.group(1) == "begin" else -1
        if depth == 0:
            return match.start(), match.end()
    return len(latex), len(latex)


def width(latex: str) -> float:
    """Rough width of LaTeX maths in characters (fractions take their wider part, matrices their
    widest row per column, scripts count 0.7, spacing commands their space)."""
    total = 0.0
    index = 0
    while index < len(latex):
        char = latex[index]
        if latex.startswith(("\\frac", "\\tfrac", "\\dfrac"), index):
            index = latex.index("frac", index) + 4
            numerator, index = _group(latex, index)
            denominator, index = _group(latex, index)
            total += max(width(numerator), width(denominator)) * 0.85 + 0.5
        elif latex.startswith("\\begin{", index):
            name_end = latex.index("}", index)
            name = latex[index + 7 : name_end]
            end, after = _environment_end(latex, index, name)
            body = latex[name_end + 1 : end]
            if name == "array" and body.startswith("{"):
                body = body[matching(body, 0) :]
            if name in _MATRICES:
                rows = [[width(cell) for cell in row.split("&")] for row in top_split(body, r"\\")]
                columns = max((len(row) for row in rows), default=0)
                total += sum(max((row[j] for row in rows if j < len(row)), default=0) + 1.5 for j in range(columns)) + 1
            else:
                total += max((width(line) for line in top_split(body, r"\\")), default=0)
            index = after
        elif latex.startswith(("\\text{", "\\mathrm{", "\\operatorname{", "\\mathbf{", "\\textbf{"), index):
            content, index = _group(latex, latex.index("{", index))
            total += len(content) * 0.95
        elif char == "\\":
            match = re.compile(r"\\(?:[A-Za-z]+|.)").match(latex, index)
            name = match.group()[1:] if match else ""
            index = match.end() if match else index + 1
            total += {"quad": 2, "qquad": 4, ",": 0.2, ";": 0.3, ":": 0.25, "!": 0, " ": 0.3}.get(
                name, 0 if name in _ZERO_WIDTH else 1.5 if name in ("le", "ge", "approx", "to", "leq", "geq") else 1
            )
        elif char in "^_":
            content, index = _group(latex, index + 1)
            total += width(content) * 0.7
        elif char in "{} ":
            index += 1
        elif char in "=+<>":
            total += 1.6
            index += 1
        else:
            total += 1
            index += 1
    return total


def top_split(latex: str, separator: str) -> list[str]:
    """``latex`` split at ``separator`` where it is outside braces, environments and \\left..\\right."""
    parts: list[str] = []
    depth = 0
    start = index = 0
    while index < len(latex):
        if latex.startswith(("\\begin{", "\\left"), index):
            depth += 1
        elif latex.startswith(("\\end{", "\\right"), index):
            depth -= 1
        char = latex[index]
        if char == "\\" and index + 1 < len(latex) and latex[index + 1] in "{}&%#_$":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and latex.startswith(separator, index):
            after = index + len(separator)
            # a command separator must end there (\le is not \left)
            if not (separator[-1].isalpha() and after < len(latex) and latex[after].isalpha()):
                parts.append(latex[start:index])
                start = index = after
                continue
        if char == "\\":
            match = re.compile(r"\\(?:[A-Za-z]+|.)").match(latex, index)
            if match and separator in ("=", "<", ">"):
                index = match.end()
                continue
        index += 1
    parts.append(latex[start:])
    return parts


def _relation_chunks(line: str) -> list[str]:
    """``a = b \\le c`` -> ``["a", "= b", "\\le c"]`` (split before each top-level relation)."""
    chunks = [line]
    for relation in _RELATIONS:
        split: list[str] = []
        for chunk in chunks:
            pieces = top_split(chunk, relation)
            split.append(pieces[0])
            split += [
                relation + " " + piece.strip() if relation[-1].isalpha() else relation + piece for piece in pieces[1:]
            ]
        chunks = split
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def display_lines(latex: str, limit: float = LINE_CHARS, *, aligned: bool = True) -> list[str]:
    """Display maths as lines that fit ``limit`` characters, for ``gather``.

    Explicit ``\\\\`` line breaks are kept; a line too wide is cut at its top-level ``\\quad``
    separators, then at its relations (``=``, ``\\le``, ...): into an ``aligned`` block whose
    continuation lines start with the relation, or (``aligned=False``, for MathML converters
    without ``aligned``) into lines of their own. A piece with no place to cut stays whole.
    """
    lines: list[str] = []
    for line in top_split(latex.strip(), r"\\"):
        line = line.strip()
        if not line:
            continue
        if width(line) <= limit:
            lines.append(line)
            continue
        pieces = [line]
        for separator in (r"\qquad", r"\quad"):
            pieces = [
                part.strip().rstrip(",;").strip()
                for piece in pieces
                for part in top_split(piece, separator)
                if part.strip()
            ]
        for piece in pieces:
            if width(piece) <= limit:
                lines.append(piece)
            else:
                left, rows = _rows(piece, limit)
                if len(rows) < 2:
                    lines.append(piece)
                elif aligned:
                    body = " \\\\ ".join([left + " & " + rows[0], *("& " + row for row in rows[1:])])
                    lines.append("\\begin{aligned}" + body + "\\end{aligned}")
                else:
                    lines += [left + " " + rows[0], *(r"\qquad " + row for row in rows[1:])]
    return lines


def _rows(line: str, limit: float) -> tuple[str, list[str]]:
    """``line`` cut before its top-level relations: the left side, and rows (each starting with
    its relation) that fit ``limit`` characters beside the left side."""
    chunks = _relation_chunks(line)
    if len(chunks) < 2:
        return line, []
    rows = [chunks[1]]
    used = width(chunks[0]) + width(chunks[1])
    for chunk in chunks[2:]:
        if used + width(chunk) <= limit:
            rows[-1] += " " + chunk
            used += width(chunk)
        else:
            rows.append(chunk)
            used = width(chunks[0]) + width(chunk)
    return chunks[0], rows
