"""A whole co-op story piped through `coopbot console`, checked as its members see it."""

from __future__ import annotations

from tests.console.conftest import Console

STORY = """\
!help
!member add @bob
!member add @carol
!propose Buy a 3D printer for the workshop closes:2d body:"We print parts ourselves"
@bob: !vote 1 yes
@carol: !vote 1 maybe
@carol: !vote 1 no
@carol: !vote 1 yes reason:"changed my mind"
@dan: !vote 1 yes
!show 1
@bob: !close 1
!close 1
@bob: !vote 1 no
!list all
"""


def test_newcomer_story_proposal_passes(console: Console) -> None:
    run = console.run(STORY)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Traceback" not in out + run.stderr
    # help lists the commands
    assert "!propose <title>" in out and "!vote <id> <choice>" in out
    assert "@bob joined Local co-op as member" in out
    assert "Proposal #1 opened by @alice" in out
    assert "quorum 50% of 3 eligible (2 votes)" in out
    assert "vote: !vote 1 yes|no|abstain" in out
    # a wrong choice is explained in one line, and changes nothing
    assert "#1 uses method majority: choose yes, no or abstain" in out
    assert "Your vote on #1 is changed: yes" in out
    # a non-member is refused
    assert "(to @dan) Only members of this co-op can do that" in out
    # show while open: count, turnout, who has not voted
    assert "yes 2 · no 0 · abstain 0" in out
    assert "turnout 2/3 — quorum 2 met" in out
    assert "not yet voted: @alice" in out
    # a member cannot close; the steward can
    assert "(to @bob) Only stewards can run `!close`" in out
    assert (
        "#1 Buy a 3D printer for the workshop — PASSED (yes 2, no 0, abstain 0; turnout 2/3" in out
    )
    # closed is final
    assert "#1 is closed; its votes can no longer change" in out
    assert "#1 Buy a 3D printer for the workshop — closed — passed" in out


def test_state_survives_a_restart_and_end_of_input_exits_zero(console: Console) -> None:
    first = console.run("!member add @bob\n!propose Paint the fence closes:3d\n")
    assert first.returncode == 0, first.stderr
    second = console.run("@bob: !vote 1 no\n!show 1\n")
    assert second.returncode == 0
    assert "yes 0 · no 1 · abstain 0" in second.stdout
    # the co-op was created once, not again on the second start
    assert "Local co-op" in console.run("!member list\n").stdout


def test_bad_input_never_prints_a_traceback(console: Console) -> None:
    lines = [
        "!frobnicate",
        "!vote",
        "!vote x yes",
        "!vote 99 yes",
        "!propose",
        "!propose " + "x" * 201,
        '!propose Quote "unbalanced',
        "!log -1",
        "!kudos @alice thanks me",
        "!task claim 42",
        "!coop settings timezone:Mars/Base",
        "hello there, not a command",
        "!",
        "@: !help",
    ]
    run = console.run("\n".join(lines) + "\n")
    assert run.returncode == 0
    assert "Traceback" not in run.stdout + run.stderr
    assert "Unknown command `frobnicate`" in run.stdout
    assert "There is no decision #99" in run.stdout
    assert "200" in run.stdout  # the title bound is named


def test_the_weekly_summary_chart_is_saved_and_its_path_printed(console: Console) -> None:
    # Contributions logged "last week": the bot runs as if it were 7 days later.
    logged = console.run("!member add @bob\n!log 3 fixed the gate\n@bob: !log 2 newsletter\n")
    assert logged.returncode == 0
    week_later = str(7 * 24 * 3600)
    run = console.run("!summary\n", COOPBOT_CLOCK_OFFSET_SECONDS=week_later)
    assert run.returncode == 0, run.stderr
    assert "@alice 3 h" in run.stdout and "@bob 2 h" in run.stdout
    paths = [
        line.split("[attachment: ", 1)[1].rstrip("]")
        for line in run.lines
        if "[attachment: " in line
    ]
    # Monday 09:00 passed while the bot was "away": that summary is posted at start-up,
    # then `!summary` posts one on demand.
    assert len(paths) == 2
    for path in paths:
        chart = console.workdir / path
        assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
