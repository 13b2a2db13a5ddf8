"""The SSE parser (WHATWG rules) and the stream's resume rules, over scripted bodies."""
from __future__ import annotations

import io
import json
import unittest
from typing import List, Optional

import support  # noqa: F401

import airmy
from airmy._streaming import EventStream, SSEDecoder, iter_sse


class Body:
    def __init__(self, text: str, then_raise: Optional[BaseException] = None) -> None:
        self._io = io.BytesIO(text.encode())
        self._raise = then_raise
        self.status = 200
        self.headers = {"content-type": "text/event-stream"}
        self.closed = False

    def readline(self) -> bytes:
        line = self._io.readline()
        if not line and self._raise is not None:
            raise self._raise
        return line

    def read(self) -> bytes:
        return self._io.read()

    def close(self) -> None:
        self.closed = True


def event(seq: int, kind: str = "run.output.delta") -> str:
    return "id: %d\nevent: %s\ndata: %s\n\n" % (seq, kind, json.dumps({"type": kind, "sequence_number": seq}))


class DecoderTest(unittest.TestCase):
    def test_fields_multiline_data_comments_and_line_endings(self) -> None:
        body = Body(": heartbeat\r\nid: 7\r\nevent: a\r\ndata: one\r\ndata:two\r\nretry: 1500\r\nbogus: x\r\n\r\n"
                    "data: {\"n\": 1}\n\n")
        events = list(iter_sse(body))
        self.assertEqual([(e.event, e.data, e.id, e.retry) for e in events],
                         [("a", "one\ntwo", "7", 1500), (None, '{"n": 1}', "7", None)])

    def test_an_event_cut_off_by_the_end_is_dropped(self) -> None:
        self.assertEqual([e.data for e in iter_sse(Body("data: whole\n\ndata: half"))], ["whole"])

    def test_blank_lines_alone_make_no_event(self) -> None:
        d = SSEDecoder()
        self.assertIsNone(d.decode(""))
        self.assertIsNone(d.decode(":comment"))
        self.assertIsNone(d.decode(""))


class FakeClient:
    """Just what EventStream uses of a client: max_retries, timeout, _sleep and _send."""

    def __init__(self, bodies: List[Body]) -> None:
        self.bodies = bodies
        self.max_retries = 2
        self.timeout = 5.0
        self.sent: List[dict] = []
        self._sleep = lambda s: None

    def _send(self, method, path, **kwargs):
        self.sent.append(kwargs.get("headers", {}))
        return self.bodies.pop(0)


def terminal(e: dict) -> bool:
    return e["type"] == "run.completed"


class ResumeTest(unittest.TestCase):
    def test_a_drop_resumes_from_the_last_id_and_skips_what_was_seen(self) -> None:
        first = Body(event(1) + event(2) + event(3), then_raise=ConnectionResetError())
        client = FakeClient([Body(event(2) + event(3) + event(4) + event(5, "run.completed"))])
        stream = EventStream(client, first, follow_path="/runs/r/events", is_terminal=terminal)  # type: ignore[arg-type]
        self.assertEqual([e["sequence_number"] for e in stream], [1, 2, 3, 4, 5])
        self.assertEqual(client.sent[0]["Last-Event-ID"], "3")
        self.assertTrue(first.closed)

    def test_an_end_without_the_terminal_event_resumes_too(self) -> None:
        client = FakeClient([Body(event(3, "run.completed"))])
        stream = EventStream(client, Body(event(1) + event(2)), follow_path="/f", is_terminal=terminal)  # type: ignore[arg-type]
        self.assertEqual([e["sequence_number"] for e in stream], [1, 2, 3])
        self.assertEqual(stream.final_event["sequence_number"], 3)

    def test_gives_up_after_max_retries_consecutive_failures(self) -> None:
        client = FakeClient([Body("", ConnectionResetError()) for _ in range(3)])
        stream = EventStream(client, Body(event(1)), follow_path="/f", is_terminal=terminal)  # type: ignore[arg-type]
        seen = []
        with self.assertRaises(airmy.APIConnectionError):
            for e in stream:
                seen.append(e["sequence_number"])
        self.assertEqual(seen, [1])
        self.assertEqual(len(client.sent), 2)

    def test_event_error_raises_the_envelope(self) -> None:
        body = Body(event(1) + 'event: error\ndata: {"type":"error","error":{"code":"internal_error",'
                    '"message":"The event stream failed","request_id":"req_9"}}\n\n')
        stream = EventStream(FakeClient([]), body, follow_path="/f", is_terminal=terminal)  # type: ignore[arg-type]
        with self.assertRaises(airmy.APIError) as caught:
            list(stream)
        self.assertEqual((caught.exception.code, caught.exception.request_id), ("internal_error", "req_9"))

    def test_close_stops_the_iteration(self) -> None:
        body = Body(event(1) + event(2) + event(3, "run.completed"))
        with EventStream(FakeClient([]), body, follow_path="/f", is_terminal=terminal) as stream:  # type: ignore[arg-type]
            next(stream)
        self.assertTrue(body.closed)
        self.assertEqual(list(stream), [])


if __name__ == "__main__":
    unittest.main()
