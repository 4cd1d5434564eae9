"""Bad input on the command line: a precise sentence, never Python's own
message or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventjobs.cli import main

from tests.audit.fixture import write_journal
from tests.support import free_port

HUGE = "9" * 5000


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit:  # argparse
        status = exit.code if isinstance(exit.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.err


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_journal(tmp_path_factory.mktemp("ids") / "journal"))


@pytest.mark.parametrize(
    "argv",
    [
        ["journal", "show", "{journal}", HUGE],
        ["journal", "replay", "{journal}", "--until", HUGE],
        ["job", "--url", "{url}", "status", HUGE],
        ["job", "--url", "{url}", "fetch", HUGE],
        ["job", "--url", "{url}", "cancel", HUGE],
        ["job", "--url", "{url}", "delete", HUGE],
        ["job", "--url", "{url}", "list", "done", "--count", HUGE],
    ],
    ids=lambda argv: " ".join(argv[:2] if argv[0] == "journal" else argv[3:4]),
)
def test_a_five_thousand_digit_number_gets_a_sentence(
    capsys: pytest.CaptureFixture[str], journal: str, argv: list[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    status, err = run(capsys, *(arg.format(journal=journal, url=url) for arg in argv))
    assert status != 0
    assert "Exceeds the limit" not in err and "Traceback" not in err, err
    assert "invalid" not in err, err  # argparse's "invalid job_id value"
    assert len(err) < 400, err  # the number is not echoed whole


def test_a_port_of_five_thousand_digits_is_a_bad_bind(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, err = run(
        capsys, "serve", "--journal", str(tmp_path / "j"), "--bind", f"127.0.0.1:{HUGE}"
    )
    assert status == 1
    assert err.startswith("eventjobs: --bind must be HOST:PORT"), err


@pytest.mark.parametrize(
    "argv, sentence",
    [
        (
            ["--max-running", "0"],
            "eventjobs: --max-running must be a whole number of at least 1, not 0",
        ),
        (["--max-wait", "-1"], "eventjobs: --max-wait must be a number of seconds"),
        (["--jwt-lifetime", "0"], "eventjobs: --jwt-lifetime must be a number of"),
        (["--redact-header", "a b"], "eventjobs: --redact-header: 'a b' is not"),
    ],
)
def test_a_bad_serve_option_is_named_as_typed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], sentence: str
) -> None:
    status, err = run(capsys, "serve", "--journal", str(tmp_path / "j"), *argv)
    assert status == 1
    assert err.startswith(sentence), err
    assert "_" not in err.split(" must ")[0], err  # no attribute names


def test_a_bad_setting_from_the_environment_names_the_variable() -> None:
    from eventjobs.errors import ConfigError
    from eventjobs.settings import Settings

    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"EVENTJOBS_MAX_RUNNING": "0"})
    assert str(raised.value) == (
        "EVENTJOBS_MAX_RUNNING must be a whole number of at least 1, not 0"
    )


def test_a_mistyped_serve_option_gets_serves_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, err = run(capsys, "serve", "--jornal", "x")
    assert status == 2
    assert err.startswith("usage: eventjobs serve "), err
    assert "eventjobs serve: error: unrecognized arguments: --jornal x" in err


def test_a_mistyped_journal_command_option_gets_its_usage(
    capsys: pytest.CaptureFixture[str], journal: str
) -> None:
    status, err = run(capsys, "journal", "verify", journal, "--quiett")
    assert status == 2
    assert err.startswith("usage: eventjobs journal verify "), err
