"""
House-style checks that ruff does not make, run in CI next to ruff and mypy.

- no module under src/ is longer than 600 lines;
- no line under src/ is longer than 88 characters, except a comment with a URL;
- no function body under src/ has more than 30 code lines (docstrings, comments
  and blank lines not counted);
- every module, private ones included, starts with a docstring.

Exit status 1 lists every violation; 0 prints nothing.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_LINE = 88
MAX_FUNCTION_LINES = 30


def code_lines(source: str) -> set[int]:
    """Return the numbers of lines holding code (not comments, blanks or strings alone)."""
    lines: set[int] = set()
    skip = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def docstring_lines(tree: ast.AST) -> set[int]:
    """Return the line numbers covered by docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body:
            continue
        first = body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            if isinstance(first.value.value, str):
                lines.update(
                    range(first.lineno, (first.end_lineno or first.lineno) + 1)
                )
    return lines


def check_file(path: Path) -> list[str]:
    """Return the style violations in one module."""
    source = path.read_text()
    problems: list[str] = []
    all_lines = source.splitlines()
    if len(all_lines) > MAX_MODULE_LINES:
        problems.append(f"{path}: {len(all_lines)} lines (max {MAX_MODULE_LINES})")
    for number, line in enumerate(all_lines, start=1):
        if len(line) > MAX_LINE and not ("#" in line and "://" in line):
            problems.append(f"{path}:{number}: line of {len(line)} characters")
    tree = ast.parse(source)
    if ast.get_docstring(tree) is None:
        problems.append(f"{path}: no module docstring")
    counted = code_lines(source) - docstring_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = node.body[0].lineno
            body = {n for n in counted if start <= n <= (node.end_lineno or start)}
            if len(body) > MAX_FUNCTION_LINES:
                problems.append(
                    f"{path}:{node.lineno}: {node.name} has {len(body)} code lines"
                    f" (max {MAX_FUNCTION_LINES})"
                )
    return problems


def main() -> int:
    """Check every module under src/ and print the violations."""
    root = Path(__file__).resolve().parent.parent / "src"
    problems = [p for path in sorted(root.rglob("*.py")) for p in check_file(path)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
