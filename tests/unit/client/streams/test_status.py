"""The Status a remote command ends with, as kubectl reads it."""

from __future__ import annotations

import json

from kubelite.client.streams import status


def test_zero_is_success():
    assert status.exit_code(0) == {"metadata": {}, "status": "Success"}
    assert status.parse_exit_code(status.encode(status.success())) == 0


def test_non_zero_exit_code_has_the_cause_kubectl_looks_for():
    body = status.exit_code(3, ["sh", "-c", "exit 3"])
    assert body["status"] == "Failure"
    assert body["reason"] == "NonZeroExitCode"
    assert body["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert body["message"] == "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"
    assert status.parse_exit_code(status.encode(body)) == 3


def test_other_failures_have_no_exit_code():
    body = status.failure("container not found", "NotFound", 404)
    assert json.loads(status.encode(body))["message"] == "container not found"
    assert status.parse_exit_code(status.encode(body)) is None
    assert status.parse_exit_code(b"garbage") is None
