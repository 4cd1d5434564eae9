"""One real server per test module (they share it: each test submits its own jobs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import ServerProcess, server_process


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``eventjobs serve`` with the gated progress route of progress_app."""
    journal = tmp_path_factory.mktemp("journal")
    with server_process(
        "--journal",
        str(journal),
        "--app",
        "tests.client.progress_app:app",
        "--shutdown-timeout",
        "0",
        "--progress-interval",
        "0.05",
    ) as running:
        yield running
