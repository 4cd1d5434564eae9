"""The test helpers themselves work (a real server starts and answers)."""

import httpx

from tests.support import journal_dir, server_process


def test_server_process_serves_version(tmp_path):
    with server_process("--journal", journal_dir(tmp_path)) as server:
        response = httpx.get(server.url + "/_api/version")
    assert response.json()["server"] == "eventjobs"
    assert server.process.returncode == 0
