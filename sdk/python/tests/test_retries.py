"""The retry loop and the error factory, through a scripted transport (`http_client=`).

The transport stands in for the network only: each test scripts the answers the "server" gives
and then checks what the client sent, how long it chose to wait (its sleep is recorded instead
of slept) and what it raised.
"""
from __future__ import annotations

import email.utils
import io
import json
import socket
import time
import unittest
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import support  # noqa: F401

import airmy
from airmy import Airmy

Answer = Union[BaseException, Dict[str, Any]]


class ScriptedResponse:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._body = io.BytesIO(body)

    def read(self) -> bytes:
        return self._body.read()

    def readline(self) -> bytes:
        return self._body.readline()

    def close(self) -> None:
        pass


class ScriptedTransport:
    def __init__(self, answers: List[Answer]) -> None:
        self.answers = list(answers)
        self.sent: List[Dict[str, Any]] = []

    def request(self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes], timeout: float):
        self.sent.append({"method": method, "url": url, "headers": dict(headers), "body": body})
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        payload = answer.get("body", {})
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return ScriptedResponse(answer.get("status", 200), answer.get("headers", {}), raw)

    def close(self) -> None:
        pass


def error(status: int, code: str = "x", headers: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    return {"status": status, "headers": dict({"request-id": "req_1"}, **(headers or {})),
            "body": {"error": {"type": "t", "code": code, "message": "m%d" % status, "param": "p", "request_id": "req_1"}}}


OK = {"status": 200, "headers": {"request-id": "req_ok"}, "body": {"id": "run_1", "object": "run"}}


class RetryTest(unittest.TestCase):
    def client(self, answers: List[Any], **options: Any) -> Tuple[Airmy, ScriptedTransport, List[float]]:
        transport = ScriptedTransport(answers)
        client = Airmy(api_key="sk-airmy-test", base_url="https://airmy.test/v2", http_client=transport, **options)
        slept: List[float] = []
        client._sleep = slept.append
        return client, transport, slept

    def test_5xx_is_retried_twice_with_backoff_and_the_same_idempotency_key(self) -> None:
        client, transport, slept = self.client([error(503), error(500), error(502)])
        with self.assertRaises(airmy.InternalServerError) as caught:
            client.runs.create(agent_id="ag_1", input={})
        self.assertEqual(caught.exception.status_code, 502)
        self.assertEqual(len(transport.sent), 3)
        keys = {s["headers"]["Idempotency-Key"] for s in transport.sent}
        self.assertEqual(len(keys), 1)
        self.assertTrue(keys.pop().startswith("airmy-python-retry-"))
        self.assertNotIn("X-Airmy-Retry-Count", transport.sent[0]["headers"])
        self.assertEqual([s["headers"]["X-Airmy-Retry-Count"] for s in transport.sent[1:]], ["1", "2"])
        self.assertTrue(0.375 <= slept[0] <= 0.5 and 0.75 <= slept[1] <= 1.0, slept)

    def test_backoff_is_capped_at_8_seconds(self) -> None:
        client, transport, slept = self.client([error(500)] * 7 + [OK], max_retries=7)
        client.runs.retrieve("run_1")
        self.assertTrue(all(6.0 <= s <= 8.0 for s in slept[4:]), slept)

    def test_connection_errors_and_timeouts_are_retried(self) -> None:
        client, transport, slept = self.client([ConnectionResetError(), socket.timeout("slow"), OK])
        run = client.runs.retrieve("run_1")
        self.assertEqual((run["id"], airmy.get_request_id(run)), ("run_1", "req_ok"))
        self.assertEqual(len(slept), 2)

    def test_the_callers_idempotency_key_is_used(self) -> None:
        client, transport, _ = self.client([ConnectionResetError(), OK])
        client.runs.create(agent_id="ag_1", input={}, idempotency_key="order-4711")
        self.assertEqual([s["headers"]["Idempotency-Key"] for s in transport.sent], ["order-4711"] * 2)

    def test_gets_carry_no_idempotency_key_and_every_request_its_headers(self) -> None:
        client, transport, _ = self.client([OK], default_headers={"X-Team": "a"})
        client.runs.retrieve("run/with slash")
        sent = transport.sent[0]
        self.assertEqual(sent["url"], "https://airmy.test/v2/runs/run%2Fwith%20slash")
        self.assertNotIn("Idempotency-Key", sent["headers"])
        self.assertEqual(sent["headers"]["Authorization"], "Bearer sk-airmy-test")
        self.assertEqual(sent["headers"]["Accept"], "application/json")
        self.assertTrue(sent["headers"]["User-Agent"].startswith("airmy-python/"))
        self.assertEqual(sent["headers"]["X-Team"], "a")

    def test_x_should_retry_overrides_the_status(self) -> None:
        client, transport, _ = self.client([error(503, headers={"x-should-retry": "false"})])
        with self.assertRaises(airmy.InternalServerError):
            client.organization.retrieve()
        self.assertEqual(len(transport.sent), 1)
        client, transport, _ = self.client([error(400, headers={"x-should-retry": "true"}), OK])
        client.organization.retrieve()
        self.assertEqual(len(transport.sent), 2)

    def test_retry_after_ms_then_retry_after_seconds_or_date_up_to_60s(self) -> None:
        date = email.utils.formatdate(time.time() + 30, usegmt=True)
        client, _, slept = self.client([
            error(429, headers={"retry-after-ms": "250", "retry-after": "9"}),
            error(429, headers={"retry-after": "3"}),
            error(503, headers={"retry-after": date}),
            error(503, headers={"retry-after": "120"}),
            OK,
        ], max_retries=4)
        client.organization.retrieve()
        self.assertEqual(slept[:2], [0.25, 3.0])
        self.assertTrue(28 <= slept[2] <= 30, slept)
        self.assertLessEqual(slept[3], 8.0 * 2, "120 s is past the 60 s bound: backoff instead")

    def test_409_is_retried_only_while_the_key_is_in_flight(self) -> None:
        client, transport, _ = self.client([error(409, "idempotency_key_in_use"), OK])
        client.runs.create(agent_id="ag_1", input={})
        self.assertEqual(len(transport.sent), 2)
        client, transport, _ = self.client([error(409, "something_else")])
        with self.assertRaises(airmy.ConflictError):
            client.runs.create(agent_id="ag_1", input={})
        self.assertEqual(len(transport.sent), 1)

    def test_4xx_are_not_retried_and_map_to_their_class(self) -> None:
        expected = {400: airmy.BadRequestError, 401: airmy.AuthenticationError, 403: airmy.PermissionDeniedError,
                    404: airmy.NotFoundError, 422: airmy.UnprocessableEntityError, 418: airmy.APIStatusError}
        for status, cls in expected.items():
            client, transport, _ = self.client([error(status, "c%d" % status)])
            with self.assertRaises(cls) as caught:
                client.agents.list()
            e = caught.exception
            self.assertEqual((e.status_code, e.code, e.param, e.type, e.message, e.request_id),
                             (status, "c%d" % status, "p", "t", "m%d" % status, "req_1"))
            self.assertIsInstance(e, airmy.APIError)
            self.assertEqual(len(transport.sent), 1)

    def test_max_retries_zero_and_a_non_json_error_body(self) -> None:
        client, transport, _ = self.client([{"status": 502, "headers": {}, "body": b"<html>bad gateway</html>"}],
                                           max_retries=0)
        with self.assertRaises(airmy.InternalServerError) as caught:
            client.organization.retrieve()
        self.assertEqual(caught.exception.body, "<html>bad gateway</html>")
        self.assertEqual(len(transport.sent), 1)

    def test_connection_error_after_the_last_retry(self) -> None:
        client, transport, _ = self.client([ConnectionRefusedError()] * 3)
        with self.assertRaises(airmy.APIConnectionError) as caught:
            client.organization.retrieve()
        self.assertIsInstance(caught.exception.__cause__, ConnectionRefusedError)
        self.assertEqual(len(transport.sent), 3)

    def test_query_strings(self) -> None:
        client, transport, _ = self.client([{"body": {"object": "list", "data": [], "has_more": False}}])
        client.runs.list(status=["failed", "timed_out"], metadata={"batch": "b7"}, limit=5)  # type: ignore[arg-type]
        self.assertEqual(transport.sent[0]["url"],
                         "https://airmy.test/v2/runs?status=failed&status=timed_out&limit=5&metadata%5Bbatch%5D=b7")

    def test_no_api_key_is_a_clear_error(self) -> None:
        import os
        from unittest import mock

        with mock.patch.dict(os.environ, {"AIRMY_API_KEY": ""}):
            with self.assertRaises(airmy.AirmyError) as caught:
                Airmy()
        self.assertIn("AIRMY_API_KEY", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
