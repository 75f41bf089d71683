"""`.env.example` and the README document every variable settings.py reads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_READERS = {"envbool", "envint", "envlist", "envsecret", "_base_url"}


def _variables_read_by_settings() -> set[str]:
    tree = ast.parse((ROOT / "socialmetrics" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        called = ast.unparse(node.func)
        if called in ENV_READERS or called in {"os.environ.get", "os.getenv"}:
            names.add(first.value)
    return names


def test_it_finds_the_variables_settings_reads():
    names = _variables_read_by_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "FACEBOOK_GRAPH_URL", "DEBUG"} <= names


def test_it_documents_every_variable_in_env_example():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"(?m)^#?\s*([A-Z][A-Z0-9_]+)=", text))
    assert sorted(_variables_read_by_settings() - documented) == []


def test_it_documents_every_variable_in_the_readme():
    text = (ROOT / "README.md").read_text()
    first_cells = re.findall(r"(?m)^\| (`[^|]+)\|", text)
    table = {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}
    assert sorted(_variables_read_by_settings() - table) == []
    assert "make demo" in text and "make test" in text
