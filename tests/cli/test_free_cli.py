"""``slotbot free`` end to end: the JSON contract, the table, and every kind of bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.free import add_free_parser, main

WORK = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:night
DTSTART;TZID=Europe/Copenhagen:20250330T220000
DTEND;TZID=Europe/Copenhagen:20250331T010000
END:VEVENT
BEGIN:VEVENT
UID:a
DTSTART;TZID=Europe/Copenhagen:20250331T100000
DTEND;TZID=Europe/Copenhagen:20250331T110000
SUMMARY:Planning
END:VEVENT
BEGIN:VEVENT
UID:touching
DTSTART:20250331T093000Z
DTEND:20250331T100000Z
END:VEVENT
BEGIN:VEVENT
UID:free
DTSTART;TZID=Europe/Copenhagen:20250401T090000
DTEND;TZID=Europe/Copenhagen:20250401T100000
TRANSP:TRANSPARENT
END:VEVENT
END:VCALENDAR
"""
HOME = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:b
DTSTART;TZID=Europe/Copenhagen:20250331T103000
DTEND;TZID=Europe/Copenhagen:20250331T113000
END:VEVENT
BEGIN:VEVENT
UID:day
DTSTART;VALUE=DATE:20250402
SUMMARY:Off
END:VEVENT
END:VCALENDAR
"""
BASE = [
    "--from",
    "2025-03-31",
    "--days",
    "3",
    "--tz",
    "Europe/Copenhagen",
    "--duration",
    "60",
    "--hours",
    "mon-wed 09:00-13:00",
    "--now",
    "2025-03-01T00:00:00+01:00",
]


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    (tmp_path / "work.ics").write_text(WORK)
    (tmp_path / "home.ics").write_text(HOME)
    return ["--ics", str(tmp_path / "work.ics"), "--ics", str(tmp_path / "home.ics")]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.free", *args], capture_output=True, text=True, timeout=60, check=False
    )


def starts(document: dict[str, list[dict[str, str]]], key: str = "slots") -> list[str]:
    return [item["start"][5:16] + "/" + item["end"][11:16] for item in document[key]]


def test_json_contract_end_to_end(files: list[str]) -> None:
    done = run_module(*files, *BASE, "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    document = json.loads(done.stdout)
    assert list(document) == ["timezone", "busy", "slots"]
    assert document["timezone"] == "Europe/Copenhagen"
    assert document["busy"] == [
        {"start": "2025-03-31T00:00:00+02:00", "end": "2025-03-31T01:00:00+02:00"},  # clipped to the window
        {
            "start": "2025-03-31T10:00:00+02:00",
            "end": "2025-03-31T12:00:00+02:00",
        },  # overlapping and touching
        {"start": "2025-04-02T00:00:00+02:00", "end": "2025-04-03T00:00:00+02:00"},  # all-day, no DTEND
    ]
    assert starts(document) == [
        "03-31T09:00/10:00",
        "03-31T12:00/13:00",
        "04-01T09:00/10:00",
        "04-01T10:00/11:00",
        "04-01T11:00/12:00",
        "04-01T12:00/13:00",
    ]


def test_table_output(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*files, *BASE]) == 0
    out = capsys.readouterr().out
    assert "Europe/Copenhagen" in out
    assert "Mon 2025-03-31  09:00-10:00  12:00-13:00" in out
    assert "Wed 2025-04-02 00:00 - Thu 2025-04-03 00:00" in out


def test_defaults_notice_buffers_and_increment(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    def slots(*extra: str) -> list[str]:
        assert main([*files, *BASE, "--json", *extra]) == 0
        return starts(json.loads(capsys.readouterr().out))

    assert slots("--now", "2025-04-01T10:30:00+02:00", "--notice", "30") == [
        "04-01T11:00/12:00",
        "04-01T12:00/13:00",
    ]
    assert slots("--buffer-after", "60")[:2] == ["03-31T12:00/13:00", "04-01T09:00/10:00"]
    assert slots("--buffer-before", "30")[:2] == ["03-31T09:00/10:00", "04-01T09:00/10:00"]
    assert slots("--increment", "30")[:3] == ["03-31T09:00/10:00", "03-31T12:00/13:00", "04-01T09:00/10:00"]
    # Without --hours: Monday to Friday 09:00-17:00; without --duration: 30 minutes.
    assert (
        main(
            [
                *files,
                "--from",
                "2025-04-05",
                "--days",
                "3",
                "--tz",
                "Europe/Copenhagen",
                "--json",
                "--now",
                "2025-01-01T00:00:00Z",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert len(document["slots"]) == 16 and document["slots"][0]["start"] == "2025-04-07T09:00:00+02:00"


def test_dst_day_in_new_york_with_24_00(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                *files,
                "--from",
                "2025-03-09",
                "--days",
                "1",
                "--tz",
                "America/New_York",
                "--duration",
                "60",
                "--hours",
                "SUN 00:00-24:00",
                "--now",
                "2025-01-01T00:00:00Z",
                "--json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    slots = document["slots"]
    assert len(slots) == 23
    assert [s["start"][11:] for s in slots[1:3]] == ["01:00:00-05:00", "03:00:00-04:00"]
    assert slots[-1]["end"] == "2025-03-10T00:00:00-04:00"


def test_hours_spec_lists_and_ranges(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                *files,
                *BASE[:-4],
                "--now",
                "2025-01-01T00:00:00Z",
                "--hours",
                "Mon,wed 08:00-09:00, 12:00-13:00",
                "--hours",
                "tue 16:00-17:00",
                "--json",
            ]
        )
        == 0
    )
    assert starts(json.loads(capsys.readouterr().out)) == [
        "03-31T08:00/09:00",
        "03-31T12:00/13:00",
        "04-01T16:00/17:00",
    ]


BAD = [
    (["--ics", "{missing}", "--from", "2025-03-31", "--tz", "UTC"], "cannot read"),
    (["--ics", "{dir}", "--from", "2025-03-31", "--tz", "UTC"], "cannot read"),
    (["--ics", "{truncated}", "--from", "2025-03-31", "--tz", "UTC"], "never closed"),
    (["--ics", "{broken}", "--from", "2025-03-31", "--tz", "UTC"], "DTSTART"),
    (["--ics", "{notics}", "--from", "2025-03-31", "--tz", "UTC"], "not an iCalendar"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "Mars/Olympus_Mons"], "unknown time zone"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "../etc/passwd"], "unknown time zone"),
    (["--ics", "{good}", "--from", "2025-03-31"], "--tz"),
    (["--ics", "{good}", "--tz", "UTC"], "--from"),
    (["--from", "2025-03-31", "--tz", "UTC"], "--ics"),
    (["--ics", "{good}", "--from", "2025-02-30", "--tz", "UTC"], "bad date"),
    (["--ics", "{good}", "--from", "31/03/2025", "--tz", "UTC"], "bad date"),
    (["--ics", "{good}", "--from", "20250331", "--tz", "UTC"], "bad date"),
    (["--ics", "{good}", "--from", "9999-12-30", "--days", "7", "--tz", "UTC"], "past the end"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--hours", "weekdays 09:00-17:00"], "SPEC"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--hours", "mon 9-17"], "SPEC"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--hours", "mon 17:00-09:00"], "SPEC"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--hours", "mon 09:00-24:30"], "SPEC"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--hours", "mon"], "SPEC"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--days", "0"], "--days"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--duration", "half"], "--duration"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--notice", "-5"], "--notice"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--now", "2025-03-31T09:00:00"], "offset"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--now", "yesterday"], "--now"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--bogus"], "unrecognized"),
    (["--ics", "{good}", "--from", "2025-03-31", "--tz", "UTC", "--days"], "expected one argument"),
]


def _fill(args: list[str], tmp_path: Path) -> list[str]:
    (tmp_path / "good.ics").write_text(WORK)
    (tmp_path / "truncated.ics").write_text(WORK[: WORK.index("END:VEVENT")])
    (tmp_path / "broken.ics").write_text(WORK.replace("20250331T100000\n", "2025-03-31 10:00\n", 1))
    (tmp_path / "notics.ics").write_text("Subject: hello\n\nnot a calendar\n")
    names = {
        "missing": tmp_path / "nope.ics",
        "dir": tmp_path,
        **{n: tmp_path / f"{n}.ics" for n in ("good", "truncated", "broken", "notics")},
    }
    return [a.format(**{k: str(v) for k, v in names.items()}) for a in args]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(_fill(args, tmp_path))
    except SystemExit as exit_:
        code = exit_.code  # argparse's own errors
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("index", [0, 2, 5, 10, 15])
def test_bad_input_end_to_end_in_a_real_process(index: int, tmp_path: Path) -> None:
    args, message = BAD[index]
    done = run_module(*_fill(args, tmp_path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_registered_subcommand_keeps_errors_on_one_line(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="slotbot")
    add_free_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["free", *files, *BASE, "--json"])
    assert args.handler(args) == 0
    assert json.loads(capsys.readouterr().out)["timezone"] == "Europe/Copenhagen"
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["free", "--days"])
    assert exit_.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert "free" in parser.format_help()
