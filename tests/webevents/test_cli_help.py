"""Every subcommand's --help starts with a one-line description and ends with an example
that the parser accepts as written."""

from __future__ import annotations

import contextlib
import io
import shlex

import pytest

from webevents.cli import EXAMPLES, build_parser, main

SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)


def help_text(name: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main([name, "--help"])
    assert stop.value.code == 0
    return out.getvalue()


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_help_has_a_one_line_description_and_an_example(name):
    text = help_text(name)
    paragraphs = text.split("\n\n")
    description = paragraphs[1]
    assert "\n" not in description and description.endswith("."), description
    example = text.rstrip().splitlines()[-1].strip()
    assert text.rstrip().splitlines()[-2] == "example:"
    assert example == EXAMPLES[name]
    words = shlex.split(example)
    assert words[:2] == ["webevents", name]
    build_parser().parse_args(words[1:])  # the example is a valid command line
