"""The command line is parsed by a parser of the named command alone (``cli.parse``), and says
the same as the whole parser."""

from __future__ import annotations

import argparse

import pytest

from upgrader import cli


def whole(words: list[str]) -> argparse.Namespace:
    return cli.build_parser().parse_args(words)


def test_the_command_words_are_exactly_what_the_whole_parser_builds():
    parser = cli.build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert set(commands.choices) == set(cli.COMMANDS)


@pytest.mark.parametrize("words", [
    ["run", "--cron"],
    ["--root", "/srv/r", "-n", "acme", "run", "--cron", "--wait-lock", "5"],
    ["-n", "acme", "update", "--to", "1.2.0"],
    ["status", "--json"],
    ["-n", "status", "check", "--json"],  # a project named like a command
    ["-n", "run", "status"],
    ["hold", "1.2.0"],
    ["history", "--limit", "3", "--json"],
    ["graph", "--format", "dot"],
    ["install"],
    ["release", "publish", "dist/acme-1.1.0.tar.gz", "--feed", "feed", "--key", "feed.key", "--phase", "10"],
    ["release", "verify", "https://updates.example.com/acme/", "--public-key", "feed.pub"],
    ["release", "phase", "1.1.0", "50", "--feed", "feed", "--key", "feed.key"],
    ["release", "yank", "1.1.0", "--reason", "breaks login", "--feed", "feed", "--key", "feed.key"],
    ["release", "pack", "app", "--version", "1.1.0", "--offline"],
])
def test_one_command_parsing_gives_what_the_whole_parser_gives(words: list[str]):
    assert cli.parse(words) == whole(words)


@pytest.mark.parametrize("words", [
    ["run", "--no-such-option"],
    ["history", "--limit", "0"],
    ["graph", "--format", "png"],
    ["hold"],
    ["release", "yank", "1.1.0", "--feed", "feed", "--key", "feed.key"],  # neither --reason nor --undo
    ["release", "phase", "1.1.0", "half", "--feed", "feed", "--key", "feed.key"],
    ["frobnicate"],
    [],
])
def test_a_mistake_is_reported_by_the_whole_parser(words: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as raised:
        whole(words)
    expected = capsys.readouterr().err
    with pytest.raises(SystemExit) as again:
        cli.parse(words)
    assert again.value.code == raised.value.code == 2
    assert capsys.readouterr().err == expected


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        cli.parse(["--help"])
    shown = capsys.readouterr().out
    assert all(word in shown for word in ("run", "status", "snapshots", "projects"))
