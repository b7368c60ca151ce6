"""yamlsafe reads alias-free YAML with libyaml and everything else with the pure-Python loader:
the same documents, the same refusals in the same words."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from upgrader import yamlsafe

DOCUMENTS = [
    "feed: https://x.invalid/a/\nvalues: {HTTP_PORT: '8080', N: 3}\nallow: minor\njitter: 0.5\n",
    "steps:\n  - name: a\n    run: [sh, -c, 'echo {project}']\n  - {name: b, retry: {attempts: 2}}\n",
    "a: yes\nb: ~\nc: 2026-11-27\nd: 0o17\ne: 1_000\nf: .inf\ng: '*'\nh: |\n  two\n  lines\n",
    "",
    "# only a comment\n",
    "- 1\n- [2, 3]\n- {x: y}\n",
]


def pure(text: str) -> Any:
    return yamlsafe._load(text, yamlsafe._Loader)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_libyaml_and_the_pure_python_loader_read_the_same_document(text: str) -> None:
    assert yamlsafe.load(text) == pure(text) == yaml.safe_load(text)


@pytest.mark.skipif(yamlsafe._CLoader is None, reason="PyYAML without libyaml")
def test_alias_free_text_goes_through_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe, "_Loader", None)  # the pure-Python loader would fail
    assert yamlsafe.load("a: [1, 2]\n") == {"a": [1, 2]}


@pytest.mark.parametrize("text", [
    "a: [1, 2\n",  # not YAML
    "a: b: c\n",
    "{1: x}\n",  # a key that is not text
    "a:\n  - " + "[" * 2000 + "]" * 2000 + "\n",  # nested too deeply
    "\tkey: value\n",
])
def test_a_refusal_is_worded_by_the_pure_python_loader(text: str) -> None:
    with pytest.raises(yamlsafe.YAMLRefused) as through_load:
        yamlsafe.load(text)
    with pytest.raises(yamlsafe.YAMLRefused) as through_pure:
        pure(text)
    assert str(through_load.value) == str(through_pure.value)


def test_aliases_are_still_counted() -> None:
    text = "a: &x 1\n" + "".join(f"k{n}: *x\n" for n in range(yamlsafe.MAX_ALIASES + 1))
    with pytest.raises(yamlsafe.YAMLRefused, match="more than 100 aliases"):
        yamlsafe.load(text)
