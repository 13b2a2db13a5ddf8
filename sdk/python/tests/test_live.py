"""The SDK against a live AIRMY server over real TLS, on SQLite and (when reachable) PostgreSQL.

Each target gets its own server (`support.LiveServer`) and each test its own organization, so
counts (runs, pages) are the test's own. Cases: agents CRUD, sync run, background run and wait,
a stream cut mid-way and resumed (every event exactly once), a POST whose answer is lost after
the server accepted it (exactly one run), 429 retried after Retry-After, lists of more than two
pages, every error class, pipelines, deployments, keys and tokens, monitoring.
"""
from __future__ import annotations

import os
import threading
import time
import unittest
from typing import Any, Dict, List, Mapping, Optional, Tuple
from unittest import mock

import support  # noqa: F401  (puts sdk/python/src on sys.path)

import airmy
from airmy import Airmy, HTTPTransport

REPLY = " ".join("word%d" % i for i in range(40))


class RecordingTransport:
    """The default transport, recording each request's headers, answer status and send time."""

    def __init__(self, inner: HTTPTransport) -> None:
        self.inner = inner
        self.calls: List[Dict[str, Any]] = []

    def request(self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes], timeout: float):
        call: Dict[str, Any] = {"method": method, "url": url, "headers": dict(headers), "at": time.monotonic()}
        self.calls.append(call)
        response = self.inner.request(method, url, headers, body, timeout)
        call["status"] = response.status
        call["response_headers"] = dict(response.headers)
        return response

    def close(self) -> None:
        self.inner.close()


class LiveCases(unittest.TestCase):
    """Run once per database target by the subclasses made below (this base is not collected)."""

    target = "sqlite"
    server: support.LiveServer

    @classmethod
    def setUpClass(cls) -> None:
        # Organizations come from the CLI (a node process each, slow on a loaded machine), so the
        # class makes two: one whose limits do not bite, shared by the tests (each scopes what it
        # counts to agents of its own), and a low-limit one for the 429 case.
        cls.server = support.LiveServer(cls.target).start()
        cls.key = cls.server.new_key()
        cls.limited_key = cls.server.new_key(rpm=60, burst=2)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def client(self, key: Optional[str] = None, **options: Any) -> Airmy:
        options.setdefault("base_url", self.server.base_url)
        c = Airmy(api_key=key or self.key, ca_file=self.server.ca_file, **options)
        self.addCleanup(c.close)
        return c

    def setUp(self) -> None:
        self.airmy = self.client()

    def scoped_key(self, *scopes: str) -> str:
        return self.airmy.api_keys.create(name="scoped", scopes=list(scopes))["secret"]

    def agent(self, **parameters: Any) -> Dict[str, Any]:
        return self.airmy.agents.create(name="sdk-py", model="mock/sdk", parameters=parameters)

    def proxy(self) -> support.TcpProxy:
        p = support.TcpProxy(self.server.port)
        self.addCleanup(p.close)
        return p

    # -- agents, runs ------------------------------------------------------------------------

    def test_agent_create_retrieve_update_delete(self) -> None:
        created = self.airmy.agents.create(name="triage", model="mock/triage", instructions="Classify.")
        self.assertTrue(created["id"].startswith("ag_"))
        self.assertTrue(created._request_id.startswith("req_"))
        self.assertEqual(self.airmy.agents.retrieve(created["id"])["instructions"], "Classify.")
        updated = self.airmy.agents.update(created["id"], instructions="Classify and prioritise.")
        self.assertEqual(updated["version"], 2)
        self.assertTrue(self.airmy.agents.delete(created["id"])["deleted"])
        with self.assertRaises(airmy.NotFoundError):
            self.airmy.agents.retrieve(created["id"])

    def test_sync_run(self) -> None:
        agent = self.agent(mock_reply="forty-two")
        run = self.airmy.runs.create(agent_id=agent["id"], input={"query": "6 * 7?"}, metadata={"case": "sync"})
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["output"], {"result": "forty-two"})
        self.assertEqual(self.airmy.runs.retrieve(run["id"])["metadata"], {"case": "sync"})

    def test_background_run_and_wait(self) -> None:
        agent = self.agent(mock_reply="later", mock_latency_ms=300)
        run = self.airmy.runs.create_and_wait(agent_id=agent["id"], input={"query": "q"}, timeout=30)
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["output"], {"result": "later"})
        queued = self.airmy.runs.create(agent_id=agent["id"], input={"query": "q"}, background=True)
        self.assertIn(queued["status"], ("queued", "running"))
        self.assertEqual(self.airmy.runs.wait(queued["id"])["status"], "completed")

    def test_cancel_a_background_run(self) -> None:
        agent = self.agent(mock_latency_ms=20000)
        run = self.airmy.runs.create(agent_id=agent["id"], input={"query": "q"}, background=True)
        self.assertEqual(self.airmy.runs.cancel(run["id"])["status"], "cancelled")
        self.assertEqual(self.airmy.runs.wait(run["id"])["status"], "cancelled")

    def test_stream_yields_events_as_they_come_and_ends_at_the_terminal_event(self) -> None:
        agent = self.agent(mock_reply=REPLY)
        with self.airmy.runs.stream(agent_id=agent["id"], input={"query": "q"}) as stream:
            events = list(stream)
        self.assertEqual(events[0]["type"], "run.created")
        self.assertEqual(events[-1]["type"], "run.completed")
        self.assertEqual([e["sequence_number"] for e in events], list(range(1, len(events) + 1)))
        self.assertEqual("".join(e.get("delta", "") for e in events), REPLY)
        self.assertEqual(stream.run["output"], {"result": REPLY})

    def test_stream_cut_mid_way_resumes_with_every_event_exactly_once(self) -> None:
        proxy = self.proxy()
        c = self.client(base_url=proxy.base_url)
        agent = self.agent(mock_reply=REPLY, mock_latency_ms=1500)
        seen: List[Dict[str, Any]] = []
        with c.runs.stream(agent_id=agent["id"], input={"query": "q"}) as stream:
            for event in stream:
                seen.append(event)
                if len(seen) == 4:
                    proxy.cut_all()  # mid-stream: the model is still producing deltas
        self.assertGreaterEqual(stream.reconnects, 1)
        self.assertGreaterEqual(proxy.connections, 2)
        numbers = [e["sequence_number"] for e in seen]
        self.assertEqual(numbers, list(range(1, len(seen) + 1)), "no event lost or repeated")
        self.assertEqual(seen[-1]["type"], "run.completed")
        self.assertEqual("".join(e.get("delta", "") for e in seen), REPLY)
        with self.airmy.runs.events(stream.run_id) as replay:
            stored = list(replay)
        self.assertEqual([(e["sequence_number"], e["type"]) for e in stored],
                         [(e["sequence_number"], e["type"]) for e in seen])

    def test_events_follows_an_existing_run_and_resumes_after_a_cut(self) -> None:
        proxy = self.proxy()
        c = self.client(base_url=proxy.base_url)
        agent = self.agent(mock_reply=REPLY, mock_latency_ms=1200)
        run = self.airmy.runs.create(agent_id=agent["id"], input={"query": "q"}, background=True)
        seen = []
        for event in c.runs.events(run["id"]):
            seen.append(event)
            if len(seen) == 3:
                proxy.cut_all()
        self.assertEqual([e["sequence_number"] for e in seen], list(range(1, len(seen) + 1)))
        self.assertEqual(seen[-1]["type"], "run.completed")
        later = list(self.airmy.runs.events(run["id"], starting_after=len(seen) - 2))
        self.assertEqual([e["sequence_number"] for e in later], [len(seen) - 1, len(seen)])

    def test_post_reset_after_the_server_accepted_it_is_retried_into_the_same_run(self) -> None:
        proxy = self.proxy()
        c = self.client(base_url=proxy.base_url)
        agent = self.agent(mock_reply="once")
        proxy.reset_after_request(1)
        run = c.runs.create(agent_id=agent["id"], input={"query": "q"})
        self.assertEqual(proxy.requests_reset, 1)
        self.assertEqual(run["status"], "completed")
        listed = [r["id"] for r in self.airmy.runs.list(agent_id=agent["id"])]
        self.assertEqual(listed, [run["id"]], "exactly one run exists")

    def test_streamed_post_reset_after_accept_follows_the_same_run(self) -> None:
        proxy = self.proxy()
        c = self.client(base_url=proxy.base_url)
        agent = self.agent(mock_reply=REPLY, mock_latency_ms=300)
        proxy.reset_after_request(1)
        with c.runs.stream(agent_id=agent["id"], input={"query": "q"}) as stream:
            seen = list(stream)
        self.assertEqual(proxy.requests_reset, 1)
        self.assertEqual([e["sequence_number"] for e in seen], list(range(1, len(seen) + 1)))
        self.assertEqual(seen[-1]["type"], "run.completed")
        self.assertEqual([r["id"] for r in self.airmy.runs.list(agent_id=agent["id"])], [stream.run_id])

    def test_429_is_retried_after_the_servers_retry_after(self) -> None:
        key = self.limited_key
        strict = self.client(key, max_retries=0)
        with self.assertRaises(airmy.RateLimitError) as caught:
            for _ in range(10):
                strict.organization.retrieve()
        error = caught.exception
        self.assertEqual((error.status_code, error.code), (429, "rate_limit_exceeded"))
        self.assertGreaterEqual(error.retry_after, 1)
        self.assertTrue(error.request_id.startswith("req_"))

        recorder = RecordingTransport(HTTPTransport(airmy._base_client.ssl_context_for(self.server.ca_file)))
        self.addCleanup(recorder.close)
        patient = self.client(key, http_client=recorder)
        self.assertEqual(patient.organization.retrieve()["object"], "organization")
        first, second = recorder.calls[0], recorder.calls[1]
        self.assertEqual(first["status"], 429)
        waited = float(first["response_headers"]["retry-after"])
        self.assertGreaterEqual(second["at"] - first["at"], waited)
        self.assertEqual(second["headers"]["X-Airmy-Retry-Count"], "1")
        self.assertEqual(second["status"], 200)

    def test_a_list_of_more_than_two_pages_is_iterated_whole(self) -> None:
        agent = self.agent()
        ids = [self.airmy.runs.create(agent_id=agent["id"], input={"n": i}, background=True)["id"] for i in range(7)]
        page = self.airmy.runs.list(agent_id=agent["id"], limit=3)
        self.assertEqual(len(page.data), 3)
        self.assertTrue(page.has_more)
        self.assertEqual([r["id"] for r in page], list(reversed(ids)), "all of them, newest first")
        self.assertEqual([len(p.data) for p in page.iter_pages()], [3, 3, 1])
        newer = self.airmy.runs.list(agent_id=agent["id"], limit=2, ending_before=ids[0])
        self.assertEqual(sorted(r["id"] for r in newer), sorted(ids[1:]))

    # -- errors ----------------------------------------------------------------------------

    def test_400_bad_request_names_the_field(self) -> None:
        with self.assertRaises(airmy.BadRequestError) as caught:
            self.airmy.agents.create(name="x", model="mock/x", colour="blue")  # type: ignore[call-arg]
        e = caught.exception
        self.assertEqual((e.status_code, e.param, e.type), (400, "colour", "invalid_request_error"))
        self.assertTrue(e.request_id.startswith("req_"))

    def test_401_authentication(self) -> None:
        with self.assertRaises(airmy.AuthenticationError) as caught:
            self.client("sk-airmy-not-a-real-key").organization.retrieve()
        self.assertEqual(caught.exception.status_code, 401)

    def test_403_permission_denied_for_a_key_with_few_scopes(self) -> None:
        reader = self.client(self.scoped_key("runs:read"))
        with self.assertRaises(airmy.PermissionDeniedError) as caught:
            reader.agents.create(name="x", model="mock/x")
        self.assertEqual((caught.exception.status_code, caught.exception.code), (403, "insufficient_permissions"))

    def test_404_not_found(self) -> None:
        with self.assertRaises(airmy.NotFoundError) as caught:
            self.airmy.runs.retrieve("run_01ABSENT")
        self.assertEqual(caught.exception.status_code, 404)

    def test_409_while_the_same_key_is_in_flight_then_422_for_another_body(self) -> None:
        agent = self.agent(mock_latency_ms=3000)  # long enough to be seen in flight on a loaded machine
        body = {"agent_id": agent["id"], "input": {"query": "slow"}}
        first: Dict[str, Any] = {}
        worker = threading.Thread(target=lambda: first.update(self.airmy.runs.create(idempotency_key="k-409", **body)))
        worker.start()
        while not list(self.airmy.runs.list(agent_id=agent["id"])):
            time.sleep(0.05)  # until the server holds the first request (its run is listed while running)
        with self.assertRaises(airmy.ConflictError) as conflict:
            self.airmy.with_options(max_retries=0).runs.create(idempotency_key="k-409", **body)
        self.assertEqual(conflict.exception.code, "idempotency_key_in_use")
        patient = self.airmy.with_options(max_retries=8).runs.create(idempotency_key="k-409", **body)
        worker.join()
        self.assertEqual(patient["id"], first["id"], "retried 409s end in the replayed run")
        with self.assertRaises(airmy.UnprocessableEntityError) as reused:
            self.airmy.runs.create(idempotency_key="k-409", agent_id=agent["id"], input={"query": "other"})
        self.assertEqual((reused.exception.status_code, reused.exception.code), (422, "idempotency_key_reused"))

    def test_connection_error_and_timeout(self) -> None:
        refused = self.client(base_url="https://127.0.0.1:%d/v2" % support.free_port(), max_retries=1)
        refused._sleep = lambda s: None
        with self.assertRaises(airmy.APIConnectionError) as caught:
            refused.organization.retrieve()
        self.assertNotIsInstance(caught.exception, airmy.APITimeoutError)
        hole = support.Blackhole()
        self.addCleanup(hole.close)
        silent = self.client(base_url="https://127.0.0.1:%d/v2" % hole.port, timeout=0.3, max_retries=0)
        with self.assertRaises(airmy.APITimeoutError):
            silent.organization.retrieve()

    def test_untrusted_certificate_and_ssl_cert_file(self) -> None:
        bare = Airmy(api_key=self.key, base_url=self.server.base_url, max_retries=0)
        self.addCleanup(bare.close)
        with self.assertRaises(airmy.APIConnectionError) as caught:
            bare.organization.retrieve()
        self.assertIn("certificate", str(caught.exception))
        env = {"AIRMY_API_KEY": self.key, "AIRMY_BASE_URL": self.server.base_url, "SSL_CERT_FILE": self.server.ca_file}
        with mock.patch.dict(os.environ, env):
            from_env = Airmy()  # no arguments: key, URL and trust all from the environment
        self.addCleanup(from_env.close)
        self.assertEqual(from_env.organization.retrieve()["object"], "organization")

    # -- the other resources ---------------------------------------------------------------

    def test_pipeline_trigger_and_wait(self) -> None:
        agent = self.agent(mock_reply="step done")
        pipeline = self.airmy.pipelines.create(
            name="two-steps",
            steps=[
                {"id": "first", "agent_id": agent["id"], "input": {"query": "{{ input.topic }}"}},
                {"id": "second", "agent_id": agent["id"], "depends_on": ["first"],
                 "input": {"query": "{{ steps.first.output.result }}"}},
            ],
            output={"answer": "{{ steps.second.output.result }}"},
        )
        run = self.airmy.pipelines.trigger_and_wait(pipeline["id"], input={"topic": "q"}, timeout=60)
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["output"], {"answer": "step done"})
        listed = [r["id"] for r in self.airmy.pipelines.runs.list(pipeline["id"])]
        self.assertEqual(listed, [run["id"]])
        types = [e["type"] for e in self.airmy.pipelines.runs.events(pipeline["id"], run["id"])]
        self.assertEqual(types[-1], "pipeline.completed")
        schedules = self.airmy.pipelines.schedules
        made = schedules.create(pipeline["id"], cron="0 9 * * 1", timezone="Europe/Paris", input={"topic": "weekly"})
        self.assertEqual(schedules.update(pipeline["id"], made["id"], enabled=False)["enabled"], False)
        self.assertEqual([x["id"] for x in schedules.list(pipeline["id"])], [made["id"]])
        self.assertTrue(schedules.delete(pipeline["id"], made["id"])["deleted"])
        with self.assertRaises(airmy.NotFoundError):
            schedules.retrieve(pipeline["id"], made["id"])

    def test_deployment_wait_logs_and_rollback(self) -> None:
        agent = self.agent(mock_reply="v1")
        first = self.airmy.deployments.wait(self.airmy.deployments.create(agent_id=agent["id"])["id"], timeout=60)
        self.assertEqual(first["status"], "active")
        self.airmy.agents.update(agent["id"], parameters={"mock_reply": "v2"})
        second = self.airmy.deployments.wait(self.airmy.deployments.create(agent_id=agent["id"])["id"], timeout=60)
        self.assertEqual((second["status"], second["version"]), ("active", 2))
        lines = list(self.airmy.deployments.logs(second["id"], limit=2))
        self.assertEqual([ln["sequence_number"] for ln in lines], list(range(1, len(lines) + 1)))
        self.assertGreater(len(lines), 2)
        streamed = list(self.airmy.deployments.stream_logs(second["id"], follow=False))
        self.assertEqual(len(streamed), len(lines))
        back = self.airmy.deployments.rollback(second["id"])
        self.assertEqual((back["id"], back["status"]), (first["id"], "active"))
        run = self.airmy.runs.create(agent_id=agent["id"], input={"query": "q"})
        self.assertEqual((run["deployment_id"], run["output"]), (first["id"], {"result": "v1"}))

    def test_api_keys_and_session_tokens(self) -> None:
        made = self.airmy.api_keys.create(name="ci", scopes=["runs:read", "organization:read"])
        self.assertTrue(made["secret"].startswith("sk-airmy-"))
        self.assertIn(made["id"], [k["id"] for k in self.airmy.api_keys.list()])
        token = self.airmy.auth.create_token(scopes=["organization:read"])
        self.assertEqual(self.client(token["token"]).organization.retrieve()["object"], "organization")
        rotated = self.airmy.api_keys.rotate(made["id"])
        self.assertNotEqual(rotated["secret"], made["secret"])
        self.assertIsNotNone(self.airmy.api_keys.revoke(made["id"])["revoked_at"])
        with self.assertRaises(airmy.AuthenticationError):
            self.client(rotated["secret"]).organization.retrieve()

    def test_metrics_audit_logs_connectors_guardrails(self) -> None:
        agent = self.agent()
        self.airmy.runs.create(agent_id=agent["id"], input={"query": "q"})
        metric = self.airmy.metrics.query(metric="runs", interval="1m", agent_id=agent["id"])
        self.assertEqual(sum(p["value"] for s in metric["series"] for p in s["points"]), 1)
        actions = [e["action"] for e in self.airmy.logs.list(resource_id=agent["id"])]
        self.assertEqual(actions, ["agent.created"])
        self.assertTrue(self.airmy.logs.verify()["valid"])
        self.assertIn("calculator", [c["id"] for c in self.airmy.connectors.list()])
        policy = self.airmy.guardrail_policies.create(name="no-bluebird", extends="baseline", rules=[
            {"kind": "blocked_terms", "terms": ["bluebird"], "action": "block", "apply_to": "input"}])
        self.assertEqual(self.airmy.guardrail_policies.retrieve(policy["id"])["name"], "no-bluebird")
        self.assertIn("baseline", [t["name"] for t in self.airmy.guardrail_policies.list_templates()])
        self.airmy.agents.update(agent["id"], guardrails=policy["id"])
        with self.assertRaises(airmy.UnprocessableEntityError) as caught:
            self.airmy.runs.create(agent_id=agent["id"], input={"query": "project bluebird"})
        self.assertEqual(caught.exception.code, "guardrail_violation")


    # -- the README -------------------------------------------------------------------------

    def test_the_readme_python_snippet_runs_as_written(self) -> None:
        import re
        import subprocess
        import sys

        from test_package import installed_sdk

        with open(os.path.join(support.REPO, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        block = re.search(r"<!-- sdk-snippet:python -->\n```python\n(.*?)```\n<!-- /sdk-snippet -->", readme, re.S)
        assert block is not None, "README.md has the marked Python snippet"
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": installed_sdk(),
               "AIRMY_API_KEY": "sk-airmy-demo-2026", "AIRMY_BASE_URL": self.server.base_url,
               "AIRMY_CA_FILE": self.server.ca_file}
        done = subprocess.run([sys.executable, "-X", "dev", "-c", block.group(1)], env=env,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        first, streamed = done.stdout.split("\n")[:2]
        self.assertTrue(first.startswith("completed Mock answer to"), first)
        self.assertTrue(streamed.startswith('Mock answer to "Q1?"'), streamed)


def _cases() -> Dict[str, type]:
    out = {}
    for target in support.targets():
        name = "Live%sTest" % ("SQLite" if target == "sqlite" else "Postgres")
        out[name] = type(name, (LiveCases,), {"target": target})
    return out


globals().update(_cases())
del LiveCases

if __name__ == "__main__":
    unittest.main()
