"""Warnings recorded during a request reach its response once, after those it already carries;
outside a request nothing is recorded."""

from __future__ import annotations

from aiohttp import web

from kubelite.apiserver import request_context
from kubelite.apiserver.auth import User
from kubelite.apiserver.handlers import json_response


def test_recorded_warnings_join_the_response_once() -> None:
    token = request_context.begin(User("alice", ()))
    try:
        request_context.add_warning("would violate PodSecurity")
        request_context.add_warning("would violate PodSecurity")
        request_context.add_warning("unknown field \"spec.x\"")
        request_context.add_audit_annotation("k", "first")
        request_context.add_audit_annotation("k", "second")
        assert request_context.user_name() == "alice"
        response = json_response({}, 200, ['unknown field "spec.x"'])
        request_context.write_warnings(response)
        assert response.headers.getall("Warning") == [
            '299 - "unknown field \\"spec.x\\""', '299 - "would violate PodSecurity"']
        ctx = request_context.current()
        assert ctx is not None and ctx.audit_annotations == {"k": "first"}
    finally:
        request_context.end(token)


def test_outside_a_request_nothing_is_recorded() -> None:
    request_context.add_warning("lost")
    request_context.set_user(User("nobody", ()))
    assert request_context.current() is None and request_context.user_name() == ""
    response = web.Response()
    request_context.write_warnings(response)
    assert "Warning" not in response.headers
