"""docs/SECURITY.md names the test behind each control: every test it names exists."""

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DOC = TESTS.parent / "docs" / "SECURITY.md"


def named_tests():
    """(file, test) pairs; `::test_x` alone refers to the last file named before it in the same cell."""
    for cell in re.split(r"\|", DOC.read_text()):
        current = None
        for path, test in re.findall(r"`(?:([\w/]+\.py))?(?:::(\w+))?`", cell):
            current = path or current
            if path:
                yield path, test or None
            elif test:
                yield current, test


def test_every_test_the_security_page_names_exists():
    names = list(named_tests())
    assert len(names) > 40
    for path, test in names:
        if not Path(path).name.startswith("test_"):
            continue  # a source file of the portal, named for its control
        file = TESTS / path
        assert file.exists(), path
        if test:
            defined = {node.name for node in ast.walk(ast.parse(file.read_text())) if isinstance(node, ast.FunctionDef)}
            assert test in defined, f"{path}::{test}"
