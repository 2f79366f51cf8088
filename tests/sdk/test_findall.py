"""Conformance tests of the FindAll API (`/v1beta/findall/...`): real `parallax serve`
processes (no `--scripted-processor`: the real, LLM-free FindAll pipeline) over a loopback
fixture web of their own, `tests/fixtures/findall-web/` (served by this module, indexed
through its `sitemap.xml` with `parallax index add`), through the official SDK
(`client.beta.findall.*`, strict response validation) and raw httpx where the wire matters.

The fixture world: the invented market town of Harrowfield, whose health directory lists its
dental clinics (each with a profile page: name in <title>/<h1>, facts in prose and sometimes
a small table), one clinic with no page of its own (a directory line and a news article), and
hard negatives that fail exactly one condition (a clinic in the village of Pellbrook, one not
accepting new patients, one founded in 1987). `WORLD` below is the truth the tests hold the
pipeline to: on this tiny world, every true match is matched and no hard negative is.

- Runs: create → retrieve → end → result (ids, metrics = counts, distinct names, matched ⇔
  every condition met, a basis entry per condition citing fixture pages), the schema
  endpoint, the `/v1` spelling, exclude_list (by name, by URL).
- Events: the whole log through the SDK and raw (first `findall.schema.updated`, ids 1..n,
  one decision per candidate after its generation, a matched event per matched candidate),
  resumption at several cursors and from a heartbeat id, 422 on a bad cursor, `timeout`
  bounding a live stream, real heartbeats on a quiet one.
- Cancel (deterministic: a server whose only search provider, a SearXNG stand-in written here,
  holds every query, so the run is provably still active), 409 on a second cancel; cancel of a
  run over the real world keeps its matched candidates.
- Extend after match_limit_met (no candidate twice, earlier decisions kept) and of an active
  run, 422/409 refusals; enrich of an ended run (an enrichment field on every matched
  candidate, `findall.candidate.enriched` events) and of an active one; ingest;
  entity-search; 422 on bad input; tenant isolation (404 on every route); signed webhooks;
  SIGKILL in the middle of a run.
- Pipeline quality on the fixture world, in tests of their own so that it hides none of the
  API checks: every true match matched and no hard negative; cited excerpts are page text;
  enrichment values are the stated founding years.

Both storage backends where the store matters; SQLite only for ingest, entity-search,
exclude_list, enrich, heartbeats and the quality tests (pipeline behaviour, not storage).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

import httpx
import parallel
import pytest
from parallel.types.beta import FindAllRun

from support import BACKENDS, assert_error, collect_events, index_add, read_sse, wait_until
from test_research import FixtureWeb, _Text, squeeze
from test_streams import spec_violations
from test_webhooks import HOOK_ARGS, LOG_INFO, Receiver, assert_quiet, secret_of, signature_ok

REPO = Path(__file__).resolve().parents[2]
FA_ROOT = REPO / "tests" / "fixtures" / "findall-web"
FA_PAGES = sorted(str(p.relative_to(FA_ROOT)) for p in FA_ROOT.rglob("*.html"))

FINDALL_ID = re.compile(r"^findall_[0-9a-f]{32}$")
CANDIDATE_ID = re.compile(r"^candidate_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ENTITY_SET_ID = re.compile(r"^entity_set_[0-9a-f]{32}$")
HEARTBEAT_ID = re.compile(r"^(\d+)-hb-(\d+)$")
CONFIDENCES = {"low", "medium", "high"}
TERMINATIONS = {"match_limit_met", "candidates_exhausted", "low_match_rate", "user_cancelled", "error_occurred", "timeout"}
ENDED = {"completed", "failed", "cancelled"}
DECIDED = {"findall.candidate.matched", "findall.candidate.unmatched", "findall.candidate.discarded"}
NOT_FOUND = "FindAll run not found"
CANCEL_ENDED = "Cannot cancel a terminated FindAll run"
RUN_WAIT = 120  # seconds a run over the fixture world may take (it is a dozen pages)
SPEC_EVENTS = {
    "findall.schema.updated": "FindAllSchemaUpdatedEvent",
    "findall.status": "FindAllRunStatusEvent",
    "findall.candidate.generated": "FindAllCandidateMatchStatusEvent",
    "findall.candidate.matched": "FindAllCandidateMatchStatusEvent",
    "findall.candidate.unmatched": "FindAllCandidateMatchStatusEvent",
    "findall.candidate.discarded": "FindAllCandidateMatchStatusEvent",
    "findall.candidate.enriched": "FindAllCandidateMatchStatusEvent",
    "error": "ErrorEvent",
}

# Every server here reads pages from the origin each time (no fetch cache), so the fixture
# server's `delay` slows a run down; webhooks are retried quickly; deliveries are logged.
SERVER_ARGS = ["--allow-private-fetch", "--cache-max-age-seconds", "0", *HOOK_ARGS]


# --------------------------------------------------------------------------------------
# the fixture world (tests/fixtures/findall-web/) and the truth about it
# --------------------------------------------------------------------------------------

CLINICS = "harrowfield-health.example/clinics/"
DIRECTORY = "harrowfield-health.example/dentists.html"
FOXGLOVE_NEWS = "harrowfield-courier.example/news/2022-04-05-foxglove-lane-dental.html"

# name -> (its own page or None, town, founding year, accepting new patients)
WORLD = {
    "Bramblegate Dental Clinic": (CLINICS + "bramblegate-dental-clinic.html", "Harrowfield", 2014, True),
    "Copperbeech Family Dentistry": (CLINICS + "copperbeech-family-dentistry.html", "Harrowfield", 2016, True),
    "Larkspur Smile Studio": (CLINICS + "larkspur-smile-studio.html", "Harrowfield", 2019, True),
    "Millrace Dental Practice": (CLINICS + "millrace-dental-practice.html", "Harrowfield", 2012, True),
    "Quillon Street Dental": (CLINICS + "quillon-street-dental.html", "Harrowfield", 2018, True),
    "Saltmarsh Dental Centre": (CLINICS + "saltmarsh-dental-centre.html", "Harrowfield", 2021, True),
    # no page of its own: a line of the directory and a news article
    "Foxglove Lane Dental": (None, "Harrowfield", 2022, True),
    # hard negatives, each failing exactly one condition of the three below
    "Tollgate Dental Surgery": (CLINICS + "tollgate-dental-surgery.html", "Harrowfield", 2015, False),
    "Old Weir Dental Practice": (CLINICS + "old-weir-dental-practice.html", "Harrowfield", 1987, True),
    "Pellbrook Dental Care": (CLINICS + "pellbrook-dental-care.html", "Pellbrook", 2017, True),
}

ENTITY_TYPE = "dental clinics"
IN_TOWN = {"name": "located_in_harrowfield", "description": "The dental clinic is located in Harrowfield."}
NEW_PATIENTS = {"name": "accepting_new_patients", "description": "The dental clinic is accepting new patients."}
FOUNDED = {"name": "founded_after_2010", "description": "The dental clinic was founded after 2010."}
OBJECTIVE3 = "Find all dental clinics in Harrowfield that are accepting new patients and were founded after 2010"
OBJECTIVE2 = "Find all dental clinics in Harrowfield that are accepting new patients"
OBJECTIVE1 = "Find all dental clinics that are accepting new patients"
CONDITIONS3 = [IN_TOWN, NEW_PATIENTS, FOUNDED]
CONDITIONS2 = [IN_TOWN, NEW_PATIENTS]
CONDITIONS1 = [NEW_PATIENTS]


def truth(conditions: list) -> tuple:
    """(the names that meet every condition, the names that fail some) on WORLD."""
    names = {c["name"] for c in conditions}
    yes, no = set(), set()
    for name, (_, town, founded, accepting) in WORLD.items():
        ok = (
            (IN_TOWN["name"] not in names or town == "Harrowfield")
            and (NEW_PATIENTS["name"] not in names or accepting)
            and (FOUNDED["name"] not in names or founded > 2010)
        )
        (yes if ok else no).add(name)
    return yes, no


def norm(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", name.lower()).split())


class FindAllWeb(FixtureWeb):
    """`tests/fixtures/findall-web/` served from one loopback root (the request log and URL
    helpers of test_research's FixtureWeb). `slow(s)` makes each page answer after s seconds,
    to slow a run down on purpose; `fast()` ends that, waking the pages still held."""

    def __init__(self):
        self.delay = 0.0
        self._wake = threading.Event()
        self.arrived = 0  # page requests received (the request log has them once answered)
        super().__init__()

    def slow(self, seconds: float) -> None:
        self._wake.clear()
        self.delay = seconds

    def fast(self) -> None:
        self.delay = 0.0
        self._wake.set()

    def answer(self, path: str):
        rel = path.lstrip("/")
        if rel == "sitemap.xml":
            body = (FA_ROOT / "sitemap.xml").read_text("utf-8").replace("FIXTURE_HOST", self.host)
            return 200, "application/xml", body.encode()
        if rel in FA_PAGES:
            with self.lock:
                self.arrived += 1
            if self.delay:
                self._wake.wait(self.delay)
            return 200, "text/html; charset=utf-8", (FA_ROOT / rel).read_bytes()
        return 404, "text/plain; charset=utf-8", b"not found"


_TEXT: dict = {}


def fa_page_text(rel: str) -> str:
    if rel not in _TEXT:
        parser = _Text()
        parser.feed((FA_ROOT / rel).read_text("utf-8"))
        _TEXT[rel] = " ".join("".join(parser.parts).split())
    return _TEXT[rel]


def excerpt_in(excerpt: str, rel: str) -> bool:
    """The page states the excerpt, up to whitespace and list bullets extraction may add."""
    return squeeze(re.sub(r"^\s*(?:\d+\.|[-*\u2022])\s+", "", excerpt, flags=re.M)) in squeeze(fa_page_text(rel))


class StallingSearch:
    """A SearXNG stand-in on loopback that holds every query while `open` is clear (then
    answers with no results): a server whose only provider it is has a FindAll run that is
    provably still active, its generation waiting on the search, until the server's own search
    timeout (10 s) gives up on the query; so the tests act at once after the first query."""

    def __init__(self):
        self.queries: list = []
        self.open = threading.Event()
        self.cond = threading.Condition()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with stub.cond:
                    stub.queries.append(self.path)
                    stub.cond.notify_all()
                stub.open.wait(60)
                body = json.dumps({"query": "", "number_of_results": 0, "results": [], "answers": [],
                                   "corrections": [], "infoboxes": [], "suggestions": [],
                                   "unresponsive_engines": []}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # the server gave up on a held query
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.cond:
            return len(self.queries)

    def wait_query(self, after: int, timeout: float = 30) -> None:
        """Wait until a query beyond the first `after` arrived (the run is searching)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.queries) <= after:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"the FindAll run sent the search provider no query within {timeout}s")
                self.cond.wait(left)

    def close(self):
        self.open.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fweb():
    w = FindAllWeb()
    yield w
    w.close()


def indexed_server(server_factory, parallax_bin, fweb, backend: str, extra_args=()):
    """A real-pipeline server (no LLM) whose local index holds the FindAll fixture web."""
    srv = server_factory(backend, start=False, scripted=False, extra_args=[*SERVER_ARGS, *extra_args], env=LOG_INFO)
    mark = fweb.count()
    proc = index_add(parallax_bin, srv.data_dir, fweb.url("sitemap.xml"), database_url=srv.database_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f"indexed {len(FA_PAGES)} page(s); 0 skipped" in proc.stdout, proc.stdout
    got = {p.lstrip("/") for _, p, s in fweb.since(mark) if s == 200}
    assert got == set(FA_PAGES) | {"sitemap.xml"}, got ^ (set(FA_PAGES) | {"sitemap.xml"})
    return srv.start()


@pytest.fixture(scope="module")
def findall_servers(server_factory, parallax_bin, fweb):
    """get(backend): the module's indexed server of that backend, started on first use."""
    made: dict = {}

    def get(backend: str):
        if backend not in made:
            made[backend] = indexed_server(server_factory, parallax_bin, fweb, backend)
        srv = made[backend]
        if not srv.alive():
            srv.start()
        return srv

    yield get
    for srv in made.values():
        srv.stop()


def _guard(srv, request):
    yield srv
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(srv.log_tail())
    srv.close_clients()
    assert srv.alive(), f"parallax died: {srv.log_tail()}"


@pytest.fixture(params=BACKENDS)
def fsrv(request, findall_servers):
    """The indexed server of each backend in turn."""
    yield from _guard(findall_servers(request.param), request)


@pytest.fixture
def fsqlite(request, findall_servers):
    """The indexed SQLite server (tests where the store plays no part)."""
    yield from _guard(findall_servers("sqlite"), request)


@pytest.fixture(scope="module")
def stalling():
    stub = StallingSearch()
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def stalled_servers(server_factory, stalling):
    """get(backend): a server whose only search provider is the stalling SearXNG stand-in."""
    made: dict = {}

    def get(backend: str):
        if backend not in made:
            made[backend] = server_factory(
                backend,
                scripted=False,
                extra_args=["--allow-private-fetch", "--search", "searxng", "--searxng-url", stalling.base],
            )
        srv = made[backend]
        if not srv.alive():
            srv.start()
        return srv

    yield get
    stalling.open.set()
    for srv in made.values():
        srv.stop()


@pytest.fixture(params=BACKENDS)
def stalled(request, stalled_servers, stalling):
    """(server, stub) with the stub holding queries; released when the test ends."""
    stalling.open.clear()
    try:
        yield from _guard(stalled_servers(request.param), request)
    finally:
        stalling.open.set()


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def create(client: parallel.Parallel, conditions=None, objective=OBJECTIVE3, match_limit=20, **kw):
    return client.beta.findall.create(
        objective=objective,
        entity_type=ENTITY_TYPE,
        match_conditions=conditions if conditions is not None else CONDITIONS3,
        generator=kw.pop("generator", "core"),
        match_limit=match_limit,
        **kw,
    )


def wait_ended(client: parallel.Parallel, fid: str, timeout: float = RUN_WAIT, pred=None):
    """Poll retrieve until the run is no longer active (and `pred(run)` holds, if given)."""

    def ended():
        run = client.beta.findall.retrieve(fid)
        if run.status.is_active:
            return None
        return run if pred is None or pred(run) else None

    return wait_until(ended, timeout, interval=0.1, what=f"FindAll run {fid} to end")


def rfc3339(value: Optional[str]) -> None:
    assert isinstance(value, str), value
    stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert stamp.tzinfo is not None, value


def check_run(run, fid: Optional[str] = None) -> None:
    """A FindAllRun's own consistency."""
    assert FINDALL_ID.match(run.findall_id), run.findall_id
    if fid is not None:
        assert run.findall_id == fid
    st = run.status
    assert st.is_active == (st.status not in ENDED), st
    if st.is_active:
        assert st.termination_reason is None, st
    else:
        assert st.termination_reason in TERMINATIONS, st
        if st.status == "cancelled":
            assert st.termination_reason == "user_cancelled", st
    rfc3339(run.created_at)
    rfc3339(run.modified_at)
    m = st.metrics
    assert isinstance(m.generated_candidates_count, int) and isinstance(m.matched_candidates_count, int), m
    assert 0 <= m.matched_candidates_count <= m.generated_candidates_count, m


def check_result(web: FindAllWeb, res, conditions: list) -> dict:
    """The result snapshot of an ended run: ids, metrics, distinct names, matched ⇔ every
    condition met, a basis entry per condition, citations of fixture pages (that they state
    their excerpts is `check_excerpts`). Returns {candidate name: candidate}."""
    check_run(res.run)
    assert not res.run.status.is_active, res.run.status
    cands = res.candidates
    ids = [c.candidate_id for c in cands]
    assert all(CANDIDATE_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids), f"a candidate id twice: {ids}"
    names = [norm(c.name) for c in cands]
    dup = sorted({n for n in names if names.count(n) > 1})
    assert not dup, f"duplicate candidates: {dup}"
    m = res.run.status.metrics
    assert m.generated_candidates_count == len(cands), (m, len(cands))
    assert m.matched_candidates_count == sum(c.match_status == "matched" for c in cands), m
    cond_names = [c["name"] for c in conditions]
    for c in cands:
        assert c.name.strip() and c.url.startswith("http"), c
        assert c.description is None or isinstance(c.description, str), c
        if c.match_status == "generated":
            assert c.output is None and c.basis is None, c
            continue
        if c.match_status == "discarded":
            continue
        assert isinstance(c.output, dict), c
        met = []
        for cond in cond_names:
            field = c.output.get(cond)
            assert isinstance(field, dict), (c.name, cond, c.output)
            assert field.get("type") == "match_condition", (c.name, field)
            assert isinstance(field.get("value"), str), (c.name, field)
            assert isinstance(field.get("is_matched"), bool), (c.name, field)
            met.append(field["is_matched"])
        assert (c.match_status == "matched") == all(met), (c.name, c.match_status, c.output)
        assert c.basis is not None, c
        fields = [b.field for b in c.basis]
        for cond in cond_names:
            assert fields.count(cond) == 1, (c.name, fields)
        for b in c.basis:
            if b.field not in cond_names:
                continue
            assert b.confidence in CONFIDENCES, (c.name, b)
            if c.match_status == "matched":
                assert b.citations, f"{c.name}: condition {b.field} met without a citation"
            for cit in b.citations or []:
                rel = web.rel(cit.url)
                assert rel in FA_PAGES, f"{c.name}/{b.field}: citation of a URL outside the fixture web: {cit.url}"
                assert cit.excerpts and all(e.strip() for e in cit.excerpts), (c.name, b.field, cit)
    return {c.name: c for c in cands}


def check_excerpts(web: FindAllWeb, res) -> None:
    """Every excerpt a candidate's basis cites is text of the cited page (all of them listed)."""
    wrong = []
    for c in res.candidates:
        for b in c.basis or []:
            for cit in b.citations or []:
                rel = web.rel(cit.url)
                for e in cit.excerpts or []:
                    if rel not in FA_PAGES or not excerpt_in(e, rel):
                        wrong.append(f"{c.name}/{b.field}: {rel or cit.url} does not state {e!r}")
    assert not wrong, "excerpts that are not page text:\n" + "\n".join(sorted(set(wrong)))


def check_world(web: FindAllWeb, by_name: dict, conditions: list) -> None:
    """Recall and precision on the fixture world: every true match matched (with its own
    page as its URL where it has one), no hard negative matched."""
    yes, no = truth(conditions)
    found = {norm(n): c for n, c in by_name.items()}
    matched = {norm(n) for n, c in by_name.items() if c.match_status == "matched"}
    missing = sorted(n for n in yes if norm(n) not in matched)
    assert not missing, f"true matches not matched: {missing}; candidates: {[(c.name, c.match_status) for c in by_name.values()]}"
    wrong = sorted(n for n in no if norm(n) in matched)
    assert not wrong, f"hard negatives matched: {[(n, found[norm(n)].output) for n in wrong]}"
    for name in yes:
        page = WORLD[name][0]
        if page is not None:
            assert found[norm(name)].url == web.url(page), (name, found[norm(name)].url)
        else:
            assert web.rel(found[norm(name)].url) in FA_PAGES, (name, found[norm(name)].url)


def events(client: parallel.Parallel, fid: str, **kw) -> list:
    """The run's event stream through the SDK (strict), to its end."""
    return collect_events(client.beta.findall.events(fid, **kw))


def real(evs: list) -> list:
    """Events without the heartbeats."""
    return [e for e in evs if not HEARTBEAT_ID.match(e.event_id)]


def dumped(evs: list) -> list:
    return [e.to_dict(mode="json") for e in evs]


def as_wire(evs: list) -> list:
    """SDK events as comparable JSON: the timestamp (a datetime in the SDK) as an instant."""
    return [wire(e.to_dict(mode="json")) for e in evs]


def wire(payload: dict) -> dict:
    """An event payload with its timestamp as an instant, whatever RFC 3339 spelling it had."""
    out = dict(payload)
    out["timestamp"] = dt.datetime.fromisoformat(out["timestamp"].replace("Z", "+00:00")).timestamp()
    return out


def check_log(evs: list, res=None) -> None:
    """A whole event log (from the start): the schema first, ids 1..n, heartbeats naming the
    id before them, one decision per candidate, a matched event per matched candidate, and
    (with the ended run's result) the end matching the snapshot."""
    assert evs, "no events"
    assert evs[0].type == "findall.schema.updated", evs[0]
    last = 0
    for e in evs:
        hb = HEARTBEAT_ID.match(e.event_id)
        if hb:
            assert e.type == "findall.status", e
            assert int(hb.group(1)) == last, f"heartbeat {e.event_id} after event {last}"
        else:
            assert e.event_id == str(last + 1), f"event id {e.event_id} after {last}"
            last += 1
        rfc3339(e.timestamp.isoformat())
    decided: dict = {}
    for e in real(evs):
        if e.type in DECIDED:
            assert CANDIDATE_ID.match(e.data.candidate_id), e
            decided.setdefault(e.data.candidate_id, []).append(e.type)
            assert e.data.match_status == e.type.rsplit(".", 1)[1], e
    twice = {k: v for k, v in decided.items() if len(v) != 1}
    assert not twice, f"candidates decided more than once: {twice}"
    generated: dict = {}
    run_ids = set()
    for i, e in enumerate(real(evs)):
        if e.type == "findall.candidate.generated":
            generated.setdefault(e.data.candidate_id, []).append(i)
            assert e.data.match_status == "generated" and e.data.output is None and e.data.basis is None, e
        elif e.type == "findall.status":
            check_run(e.data)
            run_ids.add(e.data.findall_id)
    assert len(run_ids) <= 1, run_ids
    for cid, idx in generated.items():
        first_decision = next((i for i, e in enumerate(real(evs)) if e.type in DECIDED and e.data.candidate_id == cid), None)
        assert first_decision is None or first_decision > idx[0], f"{cid} decided before it was generated"
    assert all(len(v) == 1 for v in generated.values()), f"candidates generated twice: {generated}"
    if res is not None:
        for c in res.candidates:
            assert c.candidate_id in generated, f"{c.name}: no findall.candidate.generated event"
        assert res.last_event_id == str(last), (res.last_event_id, last)
        for c in res.candidates:
            if c.match_status in ("matched", "unmatched", "discarded"):
                assert decided.get(c.candidate_id) == [f"findall.candidate.{c.match_status}"], (c.name, decided.get(c.candidate_id))
            else:
                assert c.candidate_id not in decided, c
        statuses = [e for e in real(evs) if e.type == "findall.status"]
        assert statuses, "no findall.status event"
        final = statuses[-1].data.status
        assert final.status == res.run.status.status and not final.is_active, final
        assert final.termination_reason == res.run.status.termination_reason, final


def raw_frames(srv, fid: str, key: Optional[str] = None, **params) -> list:
    with srv.http(key).stream("GET", f"/v1beta/findall/runs/{fid}/events", params=params) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream"), resp.headers
        return read_sse(resp)


def post(srv, path: str, body, key: Optional[str] = None) -> httpx.Response:
    return srv.http(key).post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def run_body(**over) -> dict:
    body = {
        "objective": OBJECTIVE3,
        "entity_type": ENTITY_TYPE,
        "match_conditions": CONDITIONS3,
        "generator": "core",
        "match_limit": 20,
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


_FINISHED: dict = {}


def finished_run(srv, web) -> tuple:
    """The standard run (three conditions, match_limit 20) of this server, ended; made once
    per server and only read afterwards. Returns (findall_id, result)."""
    key = id(srv)
    if key not in _FINISHED:
        client = srv.client()
        run = create(client, metadata={"suite": "findall", "n": 1})
        wait_ended(client, run.findall_id)
        _FINISHED[key] = run.findall_id
    fid = _FINISHED[key]
    return fid, srv.client().beta.findall.result(fid)


# --------------------------------------------------------------------------------------
# runs and results
# --------------------------------------------------------------------------------------


def test_create_retrieve_result_schema(fsrv, fweb):
    client = fsrv.client()
    run = create(client, metadata={"suite": "findall", "n": 1})
    check_run(run)
    assert run.status.status == "queued" and run.status.is_active, run.status
    assert run.status.metrics.generated_candidates_count == 0 and run.status.metrics.matched_candidates_count == 0
    assert run.status.termination_reason is None
    assert run.generator == "core" and run.metadata == {"suite": "findall", "n": 1}, run
    fid = run.findall_id
    got = client.beta.findall.retrieve(fid)
    check_run(got, fid)
    assert got.created_at == run.created_at and got.metadata == run.metadata

    # The schema is the one created, at once and at the end.
    def check_schema():
        schema = client.beta.findall.schema(fid)
        assert schema.objective == OBJECTIVE3 and schema.entity_type == ENTITY_TYPE, schema
        assert [c.model_dump() for c in schema.match_conditions] == CONDITIONS3, schema.match_conditions
        assert schema.generator == "core" and schema.match_limit == 20 and not schema.enrichments, schema

    check_schema()
    final = wait_ended(client, fid)
    check_schema()
    check_run(final, fid)
    assert final.status.status == "completed", final.status
    # 7 true matches under a limit of 20: the run ends when the candidates run out.
    assert final.status.termination_reason == "candidates_exhausted", final.status
    res = client.beta.findall.result(fid)
    assert res.run.findall_id == fid and res.run.status.status == "completed"
    assert res.run.status.metrics == final.status.metrics, (res.run.status.metrics, final.status.metrics)
    check_result(fweb, res, CONDITIONS3)
    _FINISHED[id(fsrv)] = fid  # later tests read this run


def test_pipeline_finds_the_true_matches(fsqlite, fweb):
    """Recall and precision on the fixture world (the standard run: three conditions)."""
    _, res = finished_run(fsqlite, fweb)
    check_world(fweb, check_result(fweb, res, CONDITIONS3), CONDITIONS3)


def test_pipeline_citations_state_their_excerpts(fsqlite, fweb):
    _, res = finished_run(fsqlite, fweb)
    check_excerpts(fweb, res)


def test_v1_spelling_and_raw_wire(fsrv):
    """The routes answer under /v1 too; the wire shape of create and result."""
    http = fsrv.http()
    resp = post(fsrv, "/v1/findall/runs", run_body(match_limit=5))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) >= {"findall_id", "status", "generator", "metadata", "created_at", "modified_at"}, body
    assert body["status"] == {
        "status": "queued",
        "is_active": True,
        "metrics": {"generated_candidates_count": 0, "matched_candidates_count": 0},
        "termination_reason": None,
    }, body["status"]
    fid = body["findall_id"]
    for prefix in ("/v1", "/v1beta"):
        got = http.get(f"{prefix}/findall/runs/{fid}")
        assert got.status_code == 200 and got.json()["findall_id"] == fid, got.text
        assert http.get(f"{prefix}/findall/runs/{fid}/schema").json()["match_limit"] == 5
    wait_ended(fsrv.client(), fid)
    res = http.get(f"/v1/findall/runs/{fid}/result")
    assert res.status_code == 200, res.text
    assert set(res.json()) == {"run", "candidates", "last_event_id"}, res.json().keys()
    for c in res.json()["candidates"]:
        assert set(c) >= {"candidate_id", "name", "url", "description", "match_status", "output", "basis"}, c


def test_exclude_list_by_name_and_url(fsqlite, fweb):
    client = fsqlite.client()
    larkspur = fweb.url(WORLD["Larkspur Smile Studio"][0])
    run = create(
        client,
        exclude_list=[
            {"name": "Copperbeech Family Dentistry", "url": "http://unrelated.invalid/copperbeech"},
            {"name": "Larkspur (former name)", "url": larkspur},
        ],
    )
    wait_ended(client, run.findall_id)
    res = client.beta.findall.result(run.findall_id)
    by_name = check_result(fweb, res, CONDITIONS3)
    names = {norm(n) for n in by_name}
    assert norm("Copperbeech Family Dentistry") not in names, "excluded by name, still a candidate"
    assert norm("Larkspur Smile Studio") not in names, "excluded by URL, still a candidate"
    assert larkspur not in {c.url for c in res.candidates}, "excluded URL is a candidate's URL"
    # ...and never appeared on the way either.
    for e in events(client, run.findall_id):
        if e.type.startswith("findall.candidate."):
            assert norm(e.data.name) not in {norm("Copperbeech Family Dentistry"), norm("Larkspur Smile Studio")}, e
            assert e.data.url != larkspur, e
    # The rest of the world is still a candidate.
    rest = set(WORLD) - {"Copperbeech Family Dentistry", "Larkspur Smile Studio"}
    missing = sorted(n for n in rest if norm(n) not in names)
    assert not missing, f"clinics no longer candidates: {missing}"


# --------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------


def test_events_full_log_and_resume(fsrv, fweb):
    fid, res = finished_run(fsrv, fweb)
    client = fsrv.client()
    full = events(client, fid)
    check_log(full, res)
    assert full[0].data.match_limit == 20 and [c.model_dump() for c in full[0].data.match_conditions] == CONDITIONS3
    full = real(full)  # an ended run's log: heartbeats, if any, are not part of it
    n = len(full)
    matched_ids = {c.candidate_id for c in res.candidates if c.match_status == "matched"}
    assert matched_ids == {e.data.candidate_id for e in full if e.type == "findall.candidate.matched"}
    # A candidate's decided event carries it as it was decided: the snapshot agrees.
    final = {c.candidate_id: c for c in res.candidates}
    for e in full:
        if e.type in DECIDED:
            assert e.data.name == final[e.data.candidate_id].name, e
            assert e.data.output == final[e.data.candidate_id].output, e

    # The same log on the wire: an id line per event, `event:` its type, the spec's schemas.
    frames = raw_frames(fsrv, fid)
    frames = [f for f in frames if not HEARTBEAT_ID.match(f.json["event_id"])]
    assert [wire(f.json) for f in frames] == as_wire(full)
    for f in frames:
        assert f.id == f.json["event_id"] and f.event == f.json["type"], f
        assert spec_violations(f.json, SPEC_EVENTS) == [], f

    # Resuming after event k gives exactly the events after k, from an id or a heartbeat id.
    for k in sorted({1, 2, n // 2, n - 1, n}):
        after = dumped(real(events(client, fid, last_event_id=str(k))))
        assert after == dumped(full[k:]), f"resume after {k}"
        hb = dumped(real(events(client, fid, last_event_id=f"{k}-hb-3")))
        assert hb == dumped(full[k:]), f"resume after heartbeat {k}-hb-3"
    raw_after = raw_frames(fsrv, fid, last_event_id="2")
    assert [wire(f.json) for f in raw_after if not HEARTBEAT_ID.match(f.json["event_id"])] == as_wire(full[2:])

    # A cursor that is no event id is refused.
    http = fsrv.http()
    for bad in ("abc", "-1", "1.5", "x-hb-1"):
        resp = http.get(f"/v1beta/findall/runs/{fid}/events", params={"last_event_id": bad})
        assert_error(resp, 422)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.beta.findall.events(fid, last_event_id="not-an-id")
    assert_error(ei.value, 422)


def test_events_refuse_a_malformed_heartbeat_cursor(fsqlite, fweb):
    """A heartbeat id is `<k>-hb-<n>`: one without its number is no id the stream sent."""
    fid, _ = finished_run(fsqlite, fweb)
    http = fsqlite.http()
    for bad in ("3-hb-", "3-hb-x"):
        resp = http.get(f"/v1beta/findall/runs/{fid}/events", params={"last_event_id": bad})
        assert_error(resp, 422)


def test_events_timeout_bounds_a_live_stream(stalled, stalling):
    srv = stalled
    client = srv.client()
    seen = stalling.count()
    run = create(client, match_limit=5)
    fid = run.findall_id
    stalling.wait_query(seen)  # the run is generating: it waits on the held search
    t0 = time.monotonic()
    got = events(client, fid, api_timeout=1)
    took = time.monotonic() - t0
    assert 0.8 <= took < 10, f"a stream with timeout=1 lasted {took:.1f}s"
    assert got and got[0].type == "findall.schema.updated", got
    assert client.beta.findall.retrieve(fid).status.is_active, "the run ended while the search was held"
    # the raw stream too: it ends, with the log so far
    t0 = time.monotonic()
    frames = [f for f in raw_frames(srv, fid, timeout="1") if not HEARTBEAT_ID.match(f.json["event_id"])]
    assert 0.8 <= time.monotonic() - t0 < 10
    assert frames and frames[0].json["type"] == "findall.schema.updated" and frames[0].id == "1", frames
    assert client.beta.findall.retrieve(fid).status.is_active
    resp = srv.http().post(f"/v1beta/findall/runs/{fid}/cancel")
    assert resp.status_code == 200, resp.text


def test_live_stream_sends_heartbeats(fsqlite, fweb):
    """A quiet live run's stream sends a `findall.status` heartbeat every 10 s: no SSE id line,
    event id `<last id>-hb-<n>`, the run as it is; the SDK decodes it; resuming from it is
    resuming from the id it names. The run is kept quiet by fixture pages that answer after
    12 s (within the server's 15 s fetch timeout). SQLite only: the store plays no part."""
    srv = fsqlite
    client = srv.client()
    mark = fweb.arrived
    fweb.slow(12.0)
    fid = create(client, match_limit=5).findall_id
    try:
        wait_until(lambda: fweb.arrived > mark, 30, what="the run to ask for a page")
        got: dict = {}

        def sdk():
            got["sdk"] = events(srv.client(), fid, api_timeout=11.5)

        reader = threading.Thread(target=sdk, daemon=True)
        reader.start()
        frames = raw_frames(srv, fid, timeout="11.5")
        reader.join(30)
        assert "sdk" in got, "the SDK stream did not end"
        beats = [f for f in frames if HEARTBEAT_ID.match(f.json["event_id"])]
        assert beats, f"no heartbeat in 11.5 s of a quiet live stream: {frames}"
        last = max(int(f.json["event_id"]) for f in frames if not HEARTBEAT_ID.match(f.json["event_id"]))
        for n, f in enumerate(beats, 1):
            assert f.id is None and f.event == "findall.status", f
            assert HEARTBEAT_ID.match(f.json["event_id"]).group(1) == str(last), (f.json["event_id"], last)
            assert spec_violations(f.json, SPEC_EVENTS) == [], f
            run = FindAllRun.model_validate(f.json["data"])
            assert run.findall_id == fid and run.status.is_active, run
        sdk_beats = [e for e in got["sdk"] if HEARTBEAT_ID.match(e.event_id)]
        assert sdk_beats and all(e.type == "findall.status" and e.data.status.is_active for e in sdk_beats), got["sdk"]
        check_log(got["sdk"])
        cursor = beats[0].json["event_id"]
        resumed = real(events(client, fid, last_event_id=cursor, api_timeout=0.5))
        plain = real(events(client, fid, last_event_id=str(last), api_timeout=0.5))
        assert as_wire(resumed[: len(plain)]) == as_wire(plain[: len(resumed)]), (cursor, resumed, plain)
        assert all(int(e.event_id) > last for e in resumed), resumed
    finally:
        resp = srv.http().post(f"/v1beta/findall/runs/{fid}/cancel")
        fweb.fast()
    assert resp.status_code == 200, resp.text


# --------------------------------------------------------------------------------------
# cancel
# --------------------------------------------------------------------------------------


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_search_failing_fails_the_run(fresh_server):
    """A server whose only search provider refuses every connection: a FindAll run cannot
    search at all, so it ends `failed` / `error_occurred` (not `completed` with nothing found);
    the synchronous entity search answers 503; an ended run refuses cancel and enrich with 409."""
    url = f"http://127.0.0.1:{_closed_port()}"
    srv = fresh_server(
        "sqlite",
        scripted=False,
        extra_args=["--allow-private-fetch", "--search", "searxng", "--searxng-url", url],
    )
    client = srv.client()
    run = wait_ended(client, create(client).findall_id)
    assert (run.status.status, run.status.termination_reason) == ("failed", "error_occurred"), run
    assert run.status.metrics.generated_candidates_count == 0
    with srv.http() as http:
        headers = {"parallel-beta": "findall-2025-09-15"}
        search = http.post(
            "/v1beta/findall/entity-search",
            json={"entity_type": "companies", "objective": "dental clinics in Harrowfield"},
            headers=headers,
        )
        assert_error(search, 503)
        base = f"/v1beta/findall/runs/{run.findall_id}"
        assert_error(http.post(f"{base}/cancel", headers=headers), 409, "Cannot cancel a terminated FindAll run")
        enrich = http.post(f"{base}/enrich", json={"output_schema": FOUNDED_YEAR}, headers=headers)
        assert_error(enrich, 409)
        assert "failed" in enrich.json()["error"]["message"]


def test_cancel_an_active_run(stalled, stalling):
    """Deterministic: the run's generation waits on a search the stub holds, so it is active
    when cancelled; it stays cancelled after the search answers."""
    srv = stalled
    client = srv.client()
    seen = stalling.count()
    run = create(client, match_limit=50, metadata={"cancel": True})
    fid = run.findall_id
    stalling.wait_query(seen)
    assert client.beta.findall.retrieve(fid).status.is_active
    resp = srv.http().post(f"/v1beta/findall/runs/{fid}/cancel")
    assert resp.status_code == 200, resp.text
    body = FindAllRun.model_validate(resp.json())
    check_run(body, fid)
    assert body.status.status == "cancelled" and body.status.termination_reason == "user_cancelled", body.status
    assert body.status.is_active is False

    got = client.beta.findall.retrieve(fid)
    assert got.status.status == "cancelled" and got.status.termination_reason == "user_cancelled", got.status

    # A second cancel, through the SDK and raw: 409 with the error shape.
    with pytest.raises(parallel.ConflictError) as ei:
        client.beta.findall.cancel(fid)
    assert_error(ei.value, 409, CANCEL_ENDED)
    assert_error(srv.http().post(f"/v1/findall/runs/{fid}/cancel"), 409, CANCEL_ENDED)
    # An ended run that did not meet its match limit cannot be extended.
    with pytest.raises(parallel.ConflictError) as ei:
        client.beta.findall.extend(fid, additional_match_limit=5)
    assert_error(ei.value, 409)

    # Let the held search answer: the run stays cancelled, its log ends with that status.
    stalling.open.set()
    evs = events(client, fid)
    res = client.beta.findall.result(fid)
    assert res.run.status.status == "cancelled", res.run.status
    check_log(evs, res)
    assert client.beta.findall.retrieve(fid).status.status == "cancelled"
    assert client.beta.findall.schema(fid).match_limit == 50


def test_extend_and_enrich_an_active_run(stalled, stalling):
    """On a run still generating (deterministic, as above): extend raises the limit and the run
    goes on; enrich appends to the schema; bad bodies are refused; then it is cancelled."""
    srv = stalled
    client = srv.client()
    seen = stalling.count()
    fid = create(client, match_limit=5).findall_id
    stalling.wait_query(seen)
    schema = client.beta.findall.extend(fid, additional_match_limit=7)
    assert schema.match_limit == 12, schema
    assert client.beta.findall.retrieve(fid).status.is_active
    for bad in (0, -1, 989):  # 12 + 989 > 1000
        with pytest.raises(parallel.UnprocessableEntityError) as ei:
            client.beta.findall.extend(fid, additional_match_limit=bad)
        assert_error(ei.value, 422)
    for body in (
        {"additional_match_limit": "5"},
        {},
        {"additional_match_limit": 2.5},
    ):
        assert_error(post(srv, f"/v1beta/findall/runs/{fid}/extend", body), 422)
    enriched = client.beta.findall.enrich(fid, output_schema=FOUNDED_YEAR, processor="lite")
    assert len(enriched.enrichments) == 1 and enriched.match_limit == 12, enriched
    for body in (
        {"output_schema": {"type": "text"}},
        {"output_schema": FOUNDED_YEAR, "processor": "no-such-processor"},
        {"processor": "lite"},
        {"output_schema": {"type": "json"}},
    ):
        assert_error(post(srv, f"/v1beta/findall/runs/{fid}/enrich", body), 422)
    schema = client.beta.findall.schema(fid)
    assert schema.match_limit == 12 and schema.enrichments == enriched.enrichments, schema
    assert srv.http().post(f"/v1beta/findall/runs/{fid}/cancel").status_code == 200
    stalling.open.set()
    evs = real(events(client, fid))
    updates = [e.data for e in evs if e.type == "findall.schema.updated"]
    assert [u.match_limit for u in updates] == [5, 12, 12], updates
    assert not updates[1].enrichments and len(updates[2].enrichments) == 1, updates


def test_cancel_keeps_matched_candidates(fsrv, fweb):
    """A run over the real world, slowed down (each page answers after 0.2 s), cancelled once
    it has a match. On a machine fast enough to end it first, the cancel is a 409 instead, and
    the rest still holds."""
    client = fsrv.client()
    fweb.slow(0.2)
    try:
        run = create(client, match_limit=50)
        fid = run.findall_id
        first = wait_until(
            lambda: (lambda r: r if any(c.match_status == "matched" for c in r.candidates) or not r.run.status.is_active else None)(
                client.beta.findall.result(fid)
            ),
            RUN_WAIT,
            interval=0.05,
            what="a first match",
        )
        before = {c.candidate_id: c for c in first.candidates if c.match_status == "matched"}
        resp = fsrv.http().post(f"/v1beta/findall/runs/{fid}/cancel")
    finally:
        fweb.fast()
    print(f"cancel answered {resp.status_code}")
    if resp.status_code == 200:
        body = FindAllRun.model_validate(resp.json())
        assert body.status.status == "cancelled" and body.status.termination_reason == "user_cancelled", body.status
    else:
        assert_error(resp, 409, CANCEL_ENDED)
        assert client.beta.findall.retrieve(fid).status.status == "completed"
    final = wait_ended(client, fid)
    res = client.beta.findall.result(fid)
    by_id = {c.candidate_id: c for c in res.candidates}
    for cid, c in before.items():
        assert cid in by_id and by_id[cid].match_status == "matched", f"matched candidate {c.name} lost by the cancel"
        assert by_id[cid].output == c.output
    check_result(fweb, res, CONDITIONS3)
    check_log(events(client, fid), res)
    assert res.run.status.status == final.status.status
    assert_error(fsrv.http().post(f"/v1beta/findall/runs/{fid}/cancel"), 409, CANCEL_ENDED)


# --------------------------------------------------------------------------------------
# extend
# --------------------------------------------------------------------------------------


def test_extend_after_match_limit_met(fsrv, fweb):
    client = fsrv.client()
    # One condition, which 9 clinics of the world meet: more than the first limit, fewer than
    # the extended one.
    yes, no = truth(CONDITIONS1)
    assert 5 < len(yes) < 10
    run = create(client, CONDITIONS1, OBJECTIVE1, match_limit=5)
    fid = run.findall_id
    first = wait_ended(client, fid)
    assert first.status.status == "completed" and first.status.termination_reason == "match_limit_met", first.status
    assert first.status.metrics.matched_candidates_count == 5, first.status.metrics
    res1 = client.beta.findall.result(fid)
    check_result(fweb, res1, CONDITIONS1)
    decided = {c.candidate_id: c for c in res1.candidates if c.match_status != "generated"}
    n1 = int(res1.last_event_id)

    # Refused: nothing, a negative number, a total over 1000.
    for bad in (0, -3, 996):
        with pytest.raises(parallel.UnprocessableEntityError) as ei:
            client.beta.findall.extend(fid, additional_match_limit=bad)
        assert_error(ei.value, 422)
    assert client.beta.findall.schema(fid).match_limit == 5

    schema = client.beta.findall.extend(fid, additional_match_limit=5)
    assert schema.match_limit == 10 and schema.objective == OBJECTIVE1, schema
    assert [c.model_dump() for c in schema.match_conditions] == CONDITIONS1
    assert client.beta.findall.schema(fid).match_limit == 10
    # Fewer matches than 10 in the world: it runs again until the candidates run out.
    final = wait_ended(client, fid, pred=lambda r: r.status.termination_reason != "match_limit_met")
    assert final.status.status == "completed" and final.status.termination_reason == "candidates_exhausted", final.status
    assert final.status.metrics.matched_candidates_count > 5, final.status.metrics
    res = client.beta.findall.result(fid)
    check_result(fweb, res, CONDITIONS1)
    by_id = {c.candidate_id: c for c in res.candidates}
    for cid, c in decided.items():
        assert cid in by_id, f"{c.name} ({cid}) is gone after the extend"
        assert by_id[cid].match_status == c.match_status and by_id[cid].output == c.output, (c.name, by_id[cid])

    evs = events(client, fid)
    check_log(evs, res)
    later = real(evs)[n1:]
    assert later and later[0].type == "findall.schema.updated" and later[0].data.match_limit == 10, later[:2]
    assert any(e.type == "findall.status" and e.data.status.is_active for e in later), "never active again"
    # Candidates decided before the extend are not decided again (check_log: once each).
    assert not {e.data.candidate_id for e in later if e.type in DECIDED} & set(decided)

    # An ended run that ran out of candidates is not extended.
    with pytest.raises(parallel.ConflictError) as ei:
        client.beta.findall.extend(fid, additional_match_limit=5)
    assert_error(ei.value, 409)


# --------------------------------------------------------------------------------------
# enrich
# --------------------------------------------------------------------------------------

FOUNDED_YEAR = {
    "type": "json",
    "json_schema": {
        "type": "object",
        "properties": {"founded_year": {"type": "integer", "description": "Year the clinic was founded"}},
    },
}


def test_enrich_a_finished_run(fsqlite, fweb):
    client = fsqlite.client()
    run = create(client)
    fid = run.findall_id
    ended = wait_ended(client, fid)
    reason = ended.status.termination_reason
    n1 = int(client.beta.findall.result(fid).last_event_id)

    schema = client.beta.findall.enrich(fid, output_schema=FOUNDED_YEAR, processor="lite")
    assert schema.enrichments and len(schema.enrichments) == 1, schema
    assert schema.enrichments[0].output_schema.json_schema == FOUNDED_YEAR["json_schema"], schema.enrichments
    assert schema.enrichments[0].processor == "lite"
    assert client.beta.findall.schema(fid).enrichments == schema.enrichments

    def enriched():
        r = client.beta.findall.result(fid)
        matched = [c for c in r.candidates if c.match_status == "matched"]
        done = all(isinstance(c.output, dict) and "founded_year" in c.output for c in matched)
        return r if done and not r.run.status.is_active else None

    res = wait_until(enriched, RUN_WAIT, interval=0.2, what="every matched candidate to be enriched")
    assert res.run.status.status == "completed" and res.run.status.termination_reason == reason, res.run.status
    by_name = check_result(fweb, res, CONDITIONS3)
    matched = [c for c in res.candidates if c.match_status == "matched"]
    assert matched
    for c in matched:
        field = c.output["founded_year"]
        assert field["type"] == "enrichment" and "value" in field, (c.name, field)
        assert "founded_year" in [b.field for b in c.basis], (c.name, c.basis)
        # (That the value is the year is test_enrichment_values_are_the_founding_years.)
    for c in res.candidates:
        if c.match_status != "matched" and isinstance(c.output, dict):
            assert "founded_year" not in c.output, f"{c.name} ({c.match_status}) was enriched"

    evs = events(client, fid)
    check_log(evs, res)
    later = real(evs)[n1:]
    assert later[0].type == "findall.schema.updated" and later[0].data.enrichments, later[:1]
    enriched_ids = [e.data.candidate_id for e in later if e.type == "findall.candidate.enriched"]
    assert sorted(enriched_ids) == sorted(c.candidate_id for c in matched), enriched_ids
    for e in later:
        if e.type == "findall.candidate.enriched":
            assert e.data.output["founded_year"]["type"] == "enrichment", e
    assert any(e.type == "findall.status" and e.data.status.is_active for e in later), "never running again"


@pytest.mark.xfail(
    strict=True,
    reason="issue 11 (open): the extractive task engine answers null where the year is stated "
    "about 'the practice' rather than by name (Copperbeech) or only in a news article (Foxglove); "
    "FindAll's enrichment plumbing itself is checked by test_enrich_a_finished_run",
)
def test_enrichment_values_are_the_founding_years(fsqlite, fweb):
    """Pipeline quality: each matched clinic's page (or, for Foxglove Lane Dental, the news
    article) says plainly "founded in <year>"; the enrichment's value states that year."""
    client = fsqlite.client()
    fid = create(client).findall_id
    wait_ended(client, fid)
    client.beta.findall.enrich(fid, output_schema=FOUNDED_YEAR, processor="lite")

    def enriched():
        r = client.beta.findall.result(fid)
        done = all("founded_year" in (c.output or {}) for c in r.candidates if c.match_status == "matched")
        return r if done and not r.run.status.is_active else None

    res = wait_until(enriched, RUN_WAIT, interval=0.2, what="the enrichment to end")
    wrong = {}
    for c in res.candidates:
        if c.match_status == "matched" and c.name in WORLD:
            value = c.output["founded_year"]["value"]
            if str(WORLD[c.name][2]) not in json.dumps(value):
                wrong[c.name] = (WORLD[c.name][2], value)
    assert not wrong, f"founding years (stated, enriched): {wrong}"


# --------------------------------------------------------------------------------------
# ingest and entity search
# --------------------------------------------------------------------------------------


def test_ingest(fsqlite):
    client = fsqlite.client()
    objective = "Find all dental clinics in Harrowfield that accept new patients"
    schema = client.beta.findall.ingest(objective=objective)
    assert schema.objective == objective, schema
    assert schema.entity_type.strip(), schema
    names = [c.name for c in schema.match_conditions]
    assert names and len(set(names)) == len(names), names
    for c in schema.match_conditions:
        assert re.fullmatch(r"[a-z0-9_]+_check", c.name), c.name
        assert c.description.strip(), c
    assert schema.generator == "core" and schema.match_limit is None, schema
    # the suggested schema is accepted as it is
    run = client.beta.findall.create(
        objective=schema.objective,
        entity_type=schema.entity_type,
        match_conditions=[c.model_dump() for c in schema.match_conditions],
        generator="preview",
        match_limit=5,
    )
    check_run(run)
    wait_ended(client, run.findall_id)
    for bad in ({"objective": ""}, {}, {"objective": 5}):
        assert_error(post(fsqlite, "/v1beta/findall/ingest", bad), 422)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.beta.findall.ingest(objective="")
    assert_error(ei.value, 422)


def test_entity_search(fsqlite, fweb):
    client = fsqlite.client()
    got = client.beta.findall.entity_search(entity_type="companies", objective="dental clinics in Harrowfield", match_limit=5)
    assert ENTITY_SET_ID.match(got.entity_set_id), got.entity_set_id
    assert 0 < len(got.entities) <= 5, got.entities
    for e in got.entities:
        assert e.name.strip() and isinstance(e.description, str), e
        assert fweb.rel(e.url) in FA_PAGES, f"an entity URL outside the fixture web: {e.url}"
    names = [norm(e.name) for e in got.entities]
    assert len(set(names)) == len(names), names
    assert set(names) & {norm(n) for n in WORLD}, f"no clinic among {names}"
    again = client.beta.findall.entity_search(entity_type="companies", objective="dental clinics in Harrowfield")
    assert len(again.entities) <= 100 and ENTITY_SET_ID.match(again.entity_set_id)
    for bad in (
        {"entity_type": "planets", "objective": "dental clinics"},
        {"entity_type": "companies", "objective": "dental clinics", "match_limit": 4},
        {"entity_type": "companies", "objective": "dental clinics", "match_limit": 1001},
        {"entity_type": "companies"},
    ):
        assert_error(post(fsqlite, "/v1beta/findall/entity-search", bad), 422)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.beta.findall.entity_search(entity_type="planets", objective="dental clinics")  # type: ignore[arg-type]
    assert_error(ei.value, 422)


# --------------------------------------------------------------------------------------
# validation and tenancy
# --------------------------------------------------------------------------------------

BAD_CREATES = {
    "match_limit_4": run_body(match_limit=4),
    "match_limit_1001": run_body(match_limit=1001),
    "match_limit_string": run_body(match_limit="ten"),
    "no_conditions": run_body(match_conditions=[]),
    "unknown_generator": run_body(generator="ultra"),
    "no_objective": run_body(objective=...),
    "no_entity_type": run_body(entity_type=...),
    "no_generator": run_body(generator=...),
    "duplicate_condition_names": run_body(match_conditions=[IN_TOWN, {**NEW_PATIENTS, "name": IN_TOWN["name"]}]),
    "empty_condition_name": run_body(match_conditions=[{**IN_TOWN, "name": ""}]),
    "condition_not_object": run_body(match_conditions=["located in Harrowfield"]),
    "exclude_list_not_list": run_body(exclude_list={"name": "x", "url": "http://x.invalid/"}),
    "not_an_object": [run_body()],
}


def test_create_refuses_bad_input(fsrv):
    for case, body in BAD_CREATES.items():
        resp = post(fsrv, "/v1beta/findall/runs", body)
        try:
            assert_error(resp, 422)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None
    client = fsrv.client()
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        create(client, match_limit=4)
    assert_error(ei.value, 422)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        create(client, conditions=[])
    assert_error(ei.value, 422)


def test_other_tenant_and_unknown_ids_get_404(fsrv, fweb):
    fid, res = finished_run(fsrv, fweb)
    mine = fsrv.client()
    before = mine.beta.findall.retrieve(fid)
    other = fsrv.client(key=fsrv.other_key)
    calls = {
        "retrieve": lambda c, i: c.beta.findall.retrieve(i),
        "result": lambda c, i: c.beta.findall.result(i),
        "events": lambda c, i: collect_events(c.beta.findall.events(i)),
        "cancel": lambda c, i: c.beta.findall.cancel(i),
        "extend": lambda c, i: c.beta.findall.extend(i, additional_match_limit=5),
        "enrich": lambda c, i: c.beta.findall.enrich(i, output_schema=FOUNDED_YEAR, processor="lite"),
        "schema": lambda c, i: c.beta.findall.schema(i),
    }
    unknown = "findall_" + uuid.uuid4().hex
    for client, target in ((other, fid), (mine, unknown), (mine, "nope"), (mine, "findall_XYZ")):
        for name, call in calls.items():
            with pytest.raises(parallel.NotFoundError) as ei:
                call(client, target)
            try:
                assert_error(ei.value, 404, NOT_FOUND)
            except AssertionError as exc:
                raise AssertionError(f"{name} {target}: {exc}") from None
    # The raw /v1 spelling too, for the other tenant.
    http = fsrv.http(fsrv.other_key)
    for method, path in (("GET", ""), ("GET", "/result"), ("GET", "/schema"), ("GET", "/events"), ("POST", "/cancel")):
        assert_error(http.request(method, f"/v1/findall/runs/{fid}{path}"), 404, NOT_FOUND)
    # Nothing the other tenant tried changed the run.
    after = mine.beta.findall.retrieve(fid)
    assert after.status == before.status and after.modified_at == before.modified_at, (before, after)
    schema = mine.beta.findall.schema(fid)
    assert schema.match_limit == 20 and not schema.enrichments, schema


# --------------------------------------------------------------------------------------
# webhook
# --------------------------------------------------------------------------------------


def test_webhook_on_the_end(fsrv, fweb):
    rcv = Receiver()
    try:
        secret = secret_of(fsrv, fsrv.key)
        client = fsrv.client()
        run = create(client, match_limit=5, webhook={"url": rcv.url("/findall")}, metadata={"hook": "end"})
        fid = run.findall_id
        final = wait_ended(client, fid)
        rcv.wait_for(1, 20, "(the findall.status delivery)")
        (hit,) = assert_quiet(rcv, 1, fsrv)
        assert hit.method == "POST" and hit.path == "/findall", hit
        assert signature_ok(hit, secret), hit.headers
        body = hit.json
        # {type, timestamp, data}, and the log's event id if the delivery carries it
        assert {"type", "timestamp", "data"} <= set(body) <= {"type", "timestamp", "data", "event_id"}, body
        assert body["type"] == "findall.status", body
        rfc3339(body["timestamp"])
        data = FindAllRun.model_validate(body["data"])
        assert data.findall_id == fid and data.status.status == final.status.status, data
        assert data.status.is_active is False and data.status.termination_reason == final.status.termination_reason
        assert data.metadata == {"hook": "end"}
        if "event_id" in body:
            log = {e.event_id: e for e in real(events(client, fid))}
            assert log[body["event_id"]].type == "findall.status", body["event_id"]
            assert log[body["event_id"]].data.to_dict(mode="json") == body["data"]
    finally:
        rcv.close()


def test_webhook_with_candidate_event_types(fsqlite, fweb):
    rcv = Receiver()
    try:
        secret = secret_of(fsqlite, fsqlite.key)
        client = fsqlite.client()
        hook = {"url": rcv.url("/fa"), "event_types": ["findall.status", "findall.candidate.matched"]}
        run = create(client, webhook=hook)
        fid = run.findall_id
        wait_ended(client, fid)
        res = client.beta.findall.result(fid)
        matched = [c for c in res.candidates if c.match_status == "matched"]
        rcv.wait_for(1 + len(matched), 20, "(one per match and the status)")
        hits = assert_quiet(rcv, 1 + len(matched), fsqlite)
        assert all(signature_ok(h, secret) for h in hits), hits
        kinds = sorted(h.json["type"] for h in hits)
        assert kinds == sorted(["findall.status"] + ["findall.candidate.matched"] * len(matched)), kinds
        log = real(events(client, fid))
        by_id = dict(zip((e.event_id for e in log), as_wire(log)))
        for h in hits:
            if h.json["type"] == "findall.candidate.matched":
                assert wire(h.json) == by_id[h.json["event_id"]], "a candidate delivery is not the stream's event"
        assert sorted(h.json["data"]["candidate_id"] for h in hits if h.json["type"] != "findall.status") == sorted(
            c.candidate_id for c in matched
        )
    finally:
        rcv.close()


# --------------------------------------------------------------------------------------
# durability: SIGKILL in the middle of a run
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_mid_run(server_factory, parallax_bin, fweb, backend):
    """The server is killed as soon as the stream shows a first candidate, and restarted; the
    run is resumed (lease 2 s) and ends with nothing duplicated or decided twice. Pages answer
    after 0.15 s so the kill lands mid-run; on a machine fast enough that the run ended before
    the kill, every assertion below holds all the same."""
    srv = indexed_server(server_factory, parallax_bin, fweb, backend, extra_args=["--lease-seconds", "2"])
    try:
        client = srv.client()
        fweb.slow(0.15)
        run = create(client, match_limit=50)
        fid = run.findall_id
        before = []
        stream = client.beta.findall.events(fid)
        for e in stream:
            before.append(e)
            if e.type.startswith("findall.candidate."):
                break
        stream.close()
        active = client.beta.findall.retrieve(fid).status.is_active
        srv.kill()
        print(f"SIGKILL landed while the run was {'active' if active else 'already ended'}")
        srv.restart()
        fweb.fast()
        client = srv.client()
        wait_ended(client, fid)
        res = client.beta.findall.result(fid)
        by_name = check_result(fweb, res, CONDITIONS3)
        full = events(client, fid)
        check_log(full, res)  # ids 1..n without a gap, one decision per candidate, metrics
        assert dumped(real(full))[: len(real(before))] == dumped(real(before)), "the log changed across the kill"
        missing = sorted(n for n in WORLD if norm(n) not in {norm(k) for k in by_name})
        assert not missing, f"clinics never generated across the kill: {missing}"
    except BaseException:
        print(srv.log_tail())
        raise
    finally:
        fweb.fast()
        srv.stop()
