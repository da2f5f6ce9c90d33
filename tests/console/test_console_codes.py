"""The console shows a one-time code only as a line addressed to the person who asked."""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console.adapter import ConsoleAdapter
from bot.render.document import line, private
from tests.console.conftest import Console
from tests.support import CODE, one_time_code


def test_a_link_code_is_addressed_to_the_asker_and_works_once(console: Console) -> None:
    first = console.run("!member add @bob\n@bob: !member link\n!coop code\n")
    assert first.returncode == 0, first.stderr
    code_lines = [line for line in first.lines if CODE.search(line)]
    link = one_time_code(first.stdout)
    # Each reply carrying a code starts with who it is for; its hint line follows it.
    starts = [line for line in first.lines if line.startswith("(to @")]
    assert any(s.startswith("(to @bob) Link code: ") and link in s for s in starts)
    assert any(s.startswith("(to @alice) Bind code for Local co-op: ") for s in starts)
    for found in code_lines:
        index = first.lines.index(found)
        assert found.startswith("(to @") or first.lines[index - 1].startswith("(to @"), found

    second = console.run(f"@robert: !member link {link}\n@eve: !member link {link}\n")
    assert "@bob linked console identity" in second.stdout
    assert "(to @eve) That code does not work" in second.stdout


def test_a_private_reply_delivered_later_is_addressed_too(tmp_path: Path) -> None:
    out = io.StringIO()
    adapter = ConsoleAdapter(
        user="alice", prefix="!", attachments_dir=tmp_path, stdin=io.StringIO(), stdout=out
    )
    adapter.show(private("console:bob", line("Link code: 7K3Q-M2XD-9TPA-W4RE")))
    adapter.show(private("matrix:@bob:example.org", line("Link code: 9999-9999-9999-9999")))
    assert out.getvalue() == "(to @bob) Link code: 7K3Q-M2XD-9TPA-W4RE\n"
