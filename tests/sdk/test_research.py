"""End-to-end tests of the research engine: real `parallax serve` processes (no
`--scripted-processor`) answering questions about the loopback fixture web
(`tests/fixtures/web/`, served by this module), through the official SDK with strict
response validation.

- Extractive synthesis (no LLM): values of plainly stated facts (the questions below, about
  facts of the fixture web; the evaluation set of `bench/eval/` plays no part here),
  basis per field, honest confidence, citations of pages the fixture server really served,
  with excerpts that the page really contains; text output with numbered citations; every
  processor name completes a run.
- Source policy: excluding the fixture's only host leaves nothing to cite; a `domain/path`
  include restricts citations to that path.
- SSRF guard: without `--allow-private-fetch` nothing reaches loopback.
- LLM synthesis against a scripted OpenAI-compatible server (the only fake: no LLM runs
  here): structured output, repair after an invalid answer, 429 with Retry-After, and a
  timing-out LLM that falls back to the extractive answer with a warning.

SQLite only: the storage backend plays no part in research.
"""

from __future__ import annotations

import concurrent.futures as cf
import html.parser
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

import parallel
import pytest
from parallel.types import TaskRunResult

from fake_llm import FakeLLM
from support import ALL_PROCESSORS, index_add

REPO = Path(__file__).resolve().parents[2]
WEB_ROOT = REPO / "tests" / "fixtures" / "web"
# extract.example/ is not in the sitemap: it belongs to test_web.py (pages the index has not seen).
FIXTURE_PAGES = sorted(
    str(p.relative_to(WEB_ROOT))
    for p in WEB_ROOT.rglob("*")
    if p.suffix in (".html", ".pdf") and not str(p.relative_to(WEB_ROOT)).startswith("extract.example/")
)
CONFIDENCES = {"low", "medium", "high"}
RESULT_WAIT = 60  # seconds the server may hold a result request


# --------------------------------------------------------------------------------------
# the questions these tests ask (their own; facts stated on the fixture web)
# --------------------------------------------------------------------------------------


def _question(input, fields: dict, expected: dict, evidence: dict, match: Optional[dict] = None) -> dict:
    """A question: `input`, an object schema of `fields` (all required), the expected value per
    field, the strings (any one) by which a page states it, and for string and array fields the
    match rule (`exact` or `contains`, see `value_matches`)."""
    return {
        "input": input,
        "output_schema": {
            "type": "object",
            "properties": fields,
            "required": list(fields),
            "additionalProperties": False,
        },
        "expected": expected,
        "evidence": evidence,
        "match": match or {},
    }


QUESTIONS = {
    # A date written "5 March 2011" on zorblax.example/about.html and the wiki, answered as
    # YYYY-MM-DD; the one question most tests ask (exact value, every processor, source policy,
    # the LLM-timeout fallback).
    "zorblax_founded_on": _question(
        "When was Zorblax Robotics founded?",
        {"founded_on": {"type": "string", "description": "Date the company was founded (YYYY-MM-DD)"}},
        {"founded_on": "2011-03-05"},
        {"founded_on": ["5 March 2011"]},
        {"founded_on": "exact"},
    ),
    # A year asked as an integer: 2017 (a JSON integer, not "2017").
    "tarrowfield_factory_year": _question(
        "In which year did Zorblax Robotics open its factory in Tarrowfield?",
        {"year": {"type": "integer", "description": "Year the Tarrowfield factory opened"}},
        {"year": 2017},
        {"year": ["2017"]},
    ),
    # A number with a thousands separator in a census article: "has reached 45,900".
    "quellmoor_population_2018": _question(
        "According to the 2018 census, what was the population of Quellmoor?",
        {"population_2018": {"type": "integer", "description": "Population in the 2018 census"}},
        {"population_2018": 45900},
        {"population_2018": ["45,900"]},
    ),
    # A person's name (the answer is the name, maybe with a title, not the sentence).
    "quellmoor_mayor": _question(
        "Who is the mayor of Quellmoor?",
        {"mayor": {"type": "string", "description": "Name of the current mayor"}},
        {"mayor": "Odile Prenn"},
        {"mayor": ["Odile Prenn"]},
        {"mayor": "contains"},
    ),
    # A count in a news article: "a record 61,000 visitors".
    "lantern_tide_visitors": _question(
        "How many visitors did the 2023 Lantern Tide Festival attract?",
        {"visitors": {"type": "integer", "description": "Number of visitors in 2023"}},
        {"visitors": 61000},
        {"visitors": ["61,000"]},
    ),
    # A date about a person: "since 1 September 2020".
    "farrand_director_since": _question(
        "Since when has Ysolde Farrand been director of the Thistlewick Institute?",
        {"director_since": {"type": "string", "description": "Date she became director (YYYY-MM-DD)"}},
        {"director_since": "2020-09-01"},
        {"director_since": ["1 September 2020"]},
        {"director_since": "exact"},
    ),
    # Two integers from one sentence: "4,600 students and 820 academic staff" (each field its own).
    "thistlewick_students_staff": _question(
        {"institution": "Thistlewick Institute of Applied Mechanics"},
        {
            "students": {"type": "integer", "description": "Number of students"},
            "academic_staff": {"type": "integer", "description": "Number of academic staff"},
        },
        {"students": 4600, "academic_staff": 820},
        {"students": ["4,600"], "academic_staff": ["820"]},
    ),
    # A year of a town's founding, a plain four-digit year: 1512.
    "tarrowfield_founded_year": _question(
        "When was Tarrowfield founded?",
        {"founded_year": {"type": "integer", "description": "Year the town was founded"}},
        {"founded_year": 1512},
        {"founded_year": ["1512"]},
    ),
    # An enum member from a JSON-object input: a listed company is "public".
    "brannock_ownership": _question(
        {"company": "Brannock Lumenworks"},
        {
            "ownership": {
                "type": "string",
                "enum": ["public", "private", "non-profit", "government"],
                "description": "Ownership type of the company",
            }
        },
        {"ownership": "public"},
        {"ownership": ["public"]},
        {"ownership": "exact"},
    ),
    # A list of names (every founder present; extra elements allowed).
    "zorblax_founders": _question(
        {"company": "Zorblax Robotics"},
        {"founders": {"type": "array", "items": {"type": "string"}, "description": "Names of the company's founders"}},
        {"founders": ["Ysolde Farrand", "Teodric Vane", "Mirela Okkaday"]},
        {"founders": ["Ysolde Farrand", "Teodric Vane", "Mirela Okkaday"]},
        {"founders": "contains"},
    ),
    # Two values of one fact: newer pages (2024) say 12,400 employees, a 2021 article 9,800, and
    # a reader's comment 15,000. Any stated value may come back, but not a number counting
    # something else.
    "zorblax_employees": _question(
        {"company": "Zorblax Robotics"},
        {"employees": {"type": "integer", "description": "Current number of employees"}},
        {"employees": 12400},
        {"employees": ["12,400"]},
    ),
}


# --------------------------------------------------------------------------------------
# the fixture web
# --------------------------------------------------------------------------------------


class FixtureWeb:
    """`tests/fixtures/web/` served from one loopback root, every request recorded."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list = []  # (method, path, status), in arrival order
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                self.do_GET(head=True)

            def do_GET(self, head: bool = False):
                path = unquote(urlsplit(self.path).path)
                status, ctype, body = web.answer(path)
                with web.lock:
                    web.requests.append((self.command, path, status))
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.host}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str):
        rel = path.lstrip("/")
        if rel == "sitemap.xml":
            body = (WEB_ROOT / "sitemap.xml").read_text("utf-8").replace("FIXTURE_HOST", self.host)
            return 200, "application/xml", body.encode()
        if rel in FIXTURE_PAGES:
            ctype = "application/pdf" if rel.endswith(".pdf") else "text/html; charset=utf-8"
            return 200, ctype, (WEB_ROOT / rel).read_bytes()
        return 404, "text/plain; charset=utf-8", b"not found"

    def url(self, rel: str) -> str:
        return self.base + rel

    def rel(self, url: str) -> Optional[str]:
        """The fixture path of a URL of this server, or None."""
        return url[len(self.base):] if url.startswith(self.base) else None

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list:
        with self.lock:
            return list(self.requests[mark:])

    def served(self) -> set:
        """Fixture pages answered 200 so far."""
        with self.lock:
            return {p.lstrip("/") for _, p, s in self.requests if s == 200}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------
# page text, for checking excerpts and evidence
# --------------------------------------------------------------------------------------


class _Text(html.parser.HTMLParser):
    SKIP = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        self.parts.append(" ")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _pdf_text(raw: bytes) -> str:
    """The text of the fixture PDF (uncompressed `(…) Tj` strings, see make_pdf.py)."""
    out = []
    for m in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", raw):
        s = re.sub(rb"\\([\\()])", rb"\1", m.group(1))
        out.append(s.decode("cp1252"))
    return "\n".join(out)


_PAGE_CACHE: dict = {}


def page_text(rel: str) -> str:
    """A fixture page's whole visible text (boilerplate included), whitespace collapsed."""
    if rel not in _PAGE_CACHE:
        raw = (WEB_ROOT / rel).read_bytes()
        if rel.endswith(".pdf"):
            text = _pdf_text(raw)
        else:
            parser = _Text()
            parser.feed(raw.decode("utf-8"))
            text = "".join(parser.parts)
        _PAGE_CACHE[rel] = " ".join(text.split())
    return _PAGE_CACHE[rel]


def squeeze(text: str) -> str:
    """Text without any whitespace: extraction may break or join lines and cells anywhere."""
    return re.sub(r"\s+", "", text)


LIST_MARKER = re.compile(r"^\s*(?:\d+\.|[-*\u2022])\s+", re.M)


FOOTNOTE_MARK = re.compile(r"\[\d+\]")


def excerpt_in_page(excerpt: str, rel: str) -> bool:
    """Whether the page states the excerpt, up to what extraction may add or drop: list
    numbering and bullets, and footnote markers like `[1]`."""
    return squeeze(FOOTNOTE_MARK.sub("", LIST_MARKER.sub("", excerpt))) in squeeze(FOOTNOTE_MARK.sub("", page_text(rel)))


# --------------------------------------------------------------------------------------
# scoring (bench/eval/README.md) and output checks
# --------------------------------------------------------------------------------------


def value_matches(field_schema: dict, expected, got, rule: Optional[str]) -> bool:
    if isinstance(expected, bool):
        return isinstance(got, bool) and got == expected
    if isinstance(expected, (int, float)):
        return (
            isinstance(got, (int, float))
            and not isinstance(got, bool)
            and abs(got - expected) <= 1e-9 * max(abs(expected), 1)
        )
    if isinstance(expected, list):
        return isinstance(got, list) and all(
            any(value_matches(field_schema.get("items", {}), e, g, rule) for g in got) for e in expected
        )
    if isinstance(expected, str):
        if not isinstance(got, str):
            return False
        if (rule or "exact") == "exact":
            return got.strip().lower() == expected.strip().lower()
        # `contains`: the expected name is in the answer, and the answer is that name (maybe
        # with a title or qualifier), not the whole sentence or passage that states it.
        return expected.lower() in got.lower() and len(got) <= 2 * len(expected) + 20
    raise TypeError(expected)


def type_ok(schema: dict, value) -> bool:
    """A non-null value has the JSON type its (simple) schema asks for."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    for t in types:
        if t == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if t == "string" and isinstance(value, str):
            if "enum" in schema and value not in schema["enum"]:
                return False
            if "YYYY-MM-DD" in schema.get("description", "") and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return False
            return True
        if t == "boolean" and isinstance(value, bool):
            return True
        if t == "array" and isinstance(value, list):
            return all(type_ok(schema.get("items", {}), v) for v in value)
        if t == "null" and value is None:
            return True
    return False


def run_task(client: parallel.Parallel, **kwargs) -> TaskRunResult:
    """Create a run and wait for its result; a run that does not complete fails the test
    with its error."""
    run = client.task_run.create(**kwargs)
    try:
        return client.task_run.result(run.run_id, api_timeout=RESULT_WAIT)
    except parallel.APIStatusError as exc:
        final = client.task_run.retrieve(run.run_id)
        pytest.fail(f"run {run.run_id} did not complete: {final.status} {final.error} ({exc})")


def json_spec(schema: dict) -> dict:
    return {"output_schema": {"type": "json", "json_schema": schema}}


def check_citations(web: FixtureWeb, citations, served: set) -> None:
    """Every citation is a fixture page served to the engine, with excerpts it states."""
    for c in citations:
        rel = web.rel(c.url)
        assert rel is not None and rel in FIXTURE_PAGES, f"citation of a URL outside the fixture web: {c.url}"
        assert rel in served, f"citation of a page the fixture server never served: {c.url}"
        assert c.excerpts, f"citation without excerpts: {c}"
        for e in c.excerpts:
            assert e.strip(), f"empty excerpt in {c}"
            assert excerpt_in_page(e, rel), f"{rel} does not contain the cited excerpt {e!r}"


def check_json_result(web: FixtureWeb, res: TaskRunResult, schema: dict, served: Optional[set] = None) -> dict:
    """The run completed with a JSON object of the schema's fields, a basis entry per field
    (and per list element) whose citations are real. Returns the content."""
    served = web.served() if served is None else served
    assert res.run.status == "completed", res.run
    assert res.output.type == "json", res.output
    content = res.output.content
    props = schema["properties"]
    assert isinstance(content, dict) and set(content) == set(props), content
    warned = json.dumps([w.model_dump(mode="json") for w in res.run.warnings or []])
    basis = {}
    for b in res.output.basis:
        assert b.field not in basis, f"two basis entries for {b.field}"
        basis[b.field] = b
    wanted = set(props)
    for name, value in content.items():
        if isinstance(value, list):
            wanted |= {f"{name}.{i}" for i in range(len(value))}
    assert set(basis) == wanted, f"basis fields {sorted(basis)} != {sorted(wanted)}"
    for name, b in basis.items():
        assert b.confidence in CONFIDENCES, b
        assert isinstance(b.reasoning, str) and b.reasoning.strip(), b
        check_citations(web, b.citations or [], served)
    for name, value in content.items():
        if value is None:
            # Nothing supports it: low confidence, nothing cited, and if the schema does
            # not allow null, a warning naming the field.
            assert basis[name].confidence == "low", basis[name]
            assert not basis[name].citations, basis[name]
            if not type_ok(props[name], None):
                assert name in warned, f"null {name} without a warning: {warned}"
        else:
            assert type_ok(props[name], value), f"{name}={value!r} does not fit {props[name]}"
            assert basis[name].citations, f"{name}={value!r} is not cited"
    return content


def cited_pages_state(web: FixtureWeb, citations, evidence: list) -> bool:
    """Some cited page states one of the evidence strings (bench citation accuracy)."""
    for c in citations:
        rel = web.rel(c.url)
        text = squeeze(page_text(rel)).lower()
        if any(squeeze(e).lower() in text for e in evidence):
            return True
    return False


# --------------------------------------------------------------------------------------
# the scripted LLM
# --------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web():
    w = FixtureWeb()
    yield w
    w.close()


def _indexed_server(server_factory, parallax_bin, web, extra_args=()):
    srv = server_factory("sqlite", start=False, scripted=False, extra_args=["--allow-private-fetch", *extra_args])
    mark = web.count()
    proc = index_add(parallax_bin, srv.data_dir, web.url("sitemap.xml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    n = len(FIXTURE_PAGES)
    assert f"indexed {n} page(s); 0 skipped" in proc.stdout, proc.stdout
    # The sitemap and each page were really fetched from the fixture server.
    got = {p.lstrip("/") for _, p, s in web.since(mark) if s == 200}
    assert got == set(FIXTURE_PAGES) | {"sitemap.xml"}, got ^ (set(FIXTURE_PAGES) | {"sitemap.xml"})
    srv.start()
    return srv


@pytest.fixture(scope="module")
def research(server_factory, parallax_bin, web):
    """A real-pipeline server (extractive: no LLM) whose local index holds the fixture web."""
    srv = _indexed_server(server_factory, parallax_bin, web)
    yield srv
    srv.stop()


@pytest.fixture
def client(research, request):
    yield research.client()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(research.log_tail())
    assert research.alive(), f"parallax died: {research.log_tail()}"


@pytest.fixture(scope="module")
def fake_llm():
    llm = FakeLLM()
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def llm_server(server_factory, parallax_bin, web, fake_llm):
    """A real-pipeline server with the scripted LLM (1 s per LLM answer at most)."""
    srv = _indexed_server(
        server_factory,
        parallax_bin,
        web,
        extra_args=fake_llm.server_args(1),
    )
    yield srv
    srv.stop()


# --------------------------------------------------------------------------------------
# 1. extractive synthesis
# --------------------------------------------------------------------------------------

# Plainly stated facts (QUESTIONS above), asked with their schemas.
EXTRACTIVE_QUESTIONS = [
    "zorblax_founded_on",  # founding date: "founded on 5 March 2011"
    "tarrowfield_factory_year",  # year the Tarrowfield factory opened
    "quellmoor_population_2018",  # population in the 2018 census: "has reached 45,900"
    "quellmoor_mayor",  # mayor of Quellmoor
    "lantern_tide_visitors",  # festival visitors: "a record 61,000 visitors"
    "farrand_director_since",  # director since (date)
    "thistlewick_students_staff",  # students and academic staff: "4,600 students and 820 academic staff"
    "tarrowfield_founded_year",  # Tarrowfield founded (year)
    "brannock_ownership",  # ownership (enum)
    "zorblax_founders",  # founders (list of names)
]

# Plainly stated facts answered wrongly by extractive synthesis (every processor).
KNOWN_WRONG: dict = {}


def _question_params():
    out = []
    for qid in EXTRACTIVE_QUESTIONS:
        marks = []
        if qid in KNOWN_WRONG:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[qid]))
        out.append(pytest.param(qid, marks=marks, id=qid))
    return out


@pytest.mark.parametrize("qid", _question_params())
def test_extractive_answers_plain_facts_with_real_citations(web, client, qid):
    q = QUESTIONS[qid]
    res = run_task(client, input=q["input"], processor="base", task_spec=json_spec(q["output_schema"]))
    content = check_json_result(web, res, q["output_schema"])
    basis = {b.field: b for b in res.output.basis}
    wrong = {
        f: (content[f], want)
        for f, want in q["expected"].items()
        if not value_matches(q["output_schema"]["properties"][f], want, content[f], q["match"].get(f))
    }
    assert not wrong, f"{qid} {q['input']!r}: wrong values (got, expected) {wrong}; basis {[b.model_dump() for b in res.output.basis]}"
    for f in q["expected"]:
        # The answer's citations include a page that states it.
        assert cited_pages_state(web, basis[f].citations, q["evidence"][f]), (f, basis[f])
        # Stated by a page in so many words: not a low-confidence guess.
        assert basis[f].confidence in ("medium", "high"), basis[f]
    assert not res.run.warnings, res.run.warnings


def test_extractive_exact_values(web, client):
    """Two answers compared exactly, types included."""
    q = QUESTIONS["zorblax_founded_on"]
    res = run_task(client, input=q["input"], processor="lite", task_spec=json_spec(q["output_schema"]))
    assert res.output.content == {"founded_on": "2011-03-05"}
    q = QUESTIONS["tarrowfield_factory_year"]
    res = run_task(client, input=q["input"], processor="lite", task_spec=json_spec(q["output_schema"]))
    content = res.output.content
    assert content == {"year": 2017} and type(content["year"]) is int, content


def test_extractive_hard_question_gives_a_stated_value(web, client):
    """Employees, where the newer pages say 12,400 and a 2021 article 9,800. The engine may
    pick the older one, but not a number that counts something else."""
    q = QUESTIONS["zorblax_employees"]
    res = run_task(client, input=q["input"], processor="base", task_spec=json_spec(q["output_schema"]))
    content = check_json_result(web, res, q["output_schema"])
    assert content["employees"] in (12400, 9800), content
    basis = {b.field: b for b in res.output.basis}
    stated = ["12,400"] if content["employees"] == 12400 else ["9,800"]
    assert cited_pages_state(web, basis["employees"].citations, stated), basis["employees"]


def test_unanswerable_field_is_null_with_warning(web, client):
    """A field no page states is null (not made up), low confidence, uncited, warned."""
    schema = {
        "type": "object",
        "properties": {
            "founded_on": {"type": "string", "description": "Date the company was founded (YYYY-MM-DD)"},
            "moon_base_count": {"type": "integer", "description": "Number of bases the company runs on the Moon"},
        },
        "required": ["founded_on", "moon_base_count"],
        "additionalProperties": False,
    }
    res = run_task(client, input="When was Zorblax Robotics founded?", processor="lite", task_spec=json_spec(schema))
    content = check_json_result(web, res, schema)
    assert content["founded_on"] == "2011-03-05", content
    assert content["moon_base_count"] is None, content
    assert any("moon_base_count" in w.message for w in res.run.warnings or []), res.run.warnings


def test_text_output_has_numbered_citations(web, client):
    res = run_task(
        client,
        input="Who is the mayor of Quellmoor?",
        processor="lite",
        task_spec={"output_schema": "The name of the current mayor of Quellmoor"},
    )
    assert res.run.status == "completed"
    assert res.output.type == "text", res.output
    text = res.output.content
    assert isinstance(text, str) and "Odile Prenn" in text, text
    assert [b.field for b in res.output.basis] == ["output"], res.output.basis
    basis = res.output.basis[0]
    assert basis.confidence in CONFIDENCES
    cites = basis.citations or []
    assert cites, basis
    check_citations(web, cites, web.served())
    # Markers [n] in the text and the citations correspond one to one.
    markers = {int(n) for n in re.findall(r"\[(\d+)\](?!\()", text)}
    assert 1 in markers, text
    assert markers == set(range(1, len(cites) + 1)), (markers, len(cites), text)
    for c in cites:
        assert c.url in text, f"{c.url} not listed in the answer: {text}"


def test_every_processor_completes(web, research):
    q = QUESTIONS["zorblax_founded_on"]
    client = research.client()

    def one(processor: str):
        run = client.task_run.create(input=q["input"], processor=processor, task_spec=json_spec(q["output_schema"]))
        return processor, run.run_id

    with cf.ThreadPoolExecutor(6) as pool:
        created = list(pool.map(one, ALL_PROCESSORS))
    served = None
    failures = []
    for processor, run_id in created:
        try:
            res = client.task_run.result(run_id, api_timeout=RESULT_WAIT)
        except parallel.APIStatusError:
            run = client.task_run.retrieve(run_id)
            failures.append((processor, run.status, run.error))
            continue
        assert res.run.processor == processor
        served = served or web.served()
        content = check_json_result(web, res, q["output_schema"], served)
        if content != q["expected"]:
            failures.append((processor, "wrong", content))
    assert not failures, failures


# --------------------------------------------------------------------------------------
# 2. source policy
# --------------------------------------------------------------------------------------

MAYOR_SCHEMA = {
    "type": "object",
    "properties": {"mayor": {"type": "string", "description": "Name of the current mayor"}},
    "required": ["mayor"],
    "additionalProperties": False,
}


def test_exclude_the_only_host_leaves_nothing(web, client):
    res = run_task(
        client,
        input="Who is the mayor of Quellmoor?",
        processor="base",
        task_spec=json_spec(MAYOR_SCHEMA),
        source_policy={"exclude_domains": ["127.0.0.1"]},
    )
    content = check_json_result(web, res, MAYOR_SCHEMA)
    assert content == {"mayor": None}, content
    assert all(not b.citations for b in res.output.basis), res.output.basis
    assert res.run.warnings and any("mayor" in w.message for w in res.run.warnings), res.run.warnings


def test_include_domain_path_restricts_citations(web, client):
    q = QUESTIONS["zorblax_founded_on"]  # stated on zorblax.example/about.html and on the wiki
    for processor in ("base", "core"):
        res = run_task(
            client,
            input=q["input"],
            processor=processor,
            task_spec=json_spec(q["output_schema"]),
            source_policy={"include_domains": ["127.0.0.1/zorblax.example"]},
        )
        content = check_json_result(web, res, q["output_schema"])
        assert content == q["expected"], content
        cited = [c.url for b in res.output.basis for c in b.citations or []]
        assert cited, res.output.basis
        outside = [u for u in cited if not (web.rel(u) or "").startswith("zorblax.example/")]
        assert not outside, outside
    # Text answers too (they cite several pages).
    res = run_task(
        client,
        input="Zorblax Robotics factories and employees",
        processor="core",
        task_spec={"output_schema": "A short summary"},
        source_policy={"include_domains": ["127.0.0.1/zorblax.example"]},
    )
    cited = [c.url for b in res.output.basis for c in b.citations or []]
    assert cited, res.output
    assert all((web.rel(u) or "").startswith("zorblax.example/") for u in cited), cited
    assert all("/wiki.example/" not in u and "gazette" not in u for u in re.findall(r"\((http://[^)]+)\)", res.output.content))


def test_exclude_domain_path(web, client):
    """`127.0.0.1/wiki.example` excludes the wiki's pages and nothing else."""
    q = QUESTIONS["zorblax_founded_on"]
    res = run_task(
        client,
        input=q["input"],
        processor="core",
        task_spec=json_spec(q["output_schema"]),
        source_policy={"exclude_domains": ["127.0.0.1/wiki.example"]},
    )
    content = check_json_result(web, res, q["output_schema"])
    assert content == q["expected"], content  # zorblax.example/about.html states it too
    cited = [web.rel(c.url) for b in res.output.basis for c in b.citations or []]
    assert cited and not [u for u in cited if (u or "wiki.example/").startswith("wiki.example/")], cited


# --------------------------------------------------------------------------------------
# 3. SSRF guard
# --------------------------------------------------------------------------------------


def test_index_add_refuses_loopback_without_flag(web, parallax_bin, tmp_path):
    mark = web.count()
    page = web.url("wiki.example/Quellmoor.html")
    proc = index_add(parallax_bin, tmp_path / "data", page, web.url("sitemap.xml"), allow_private=False)
    out = proc.stdout + proc.stderr
    assert "--allow-private-fetch" in out, out
    assert "indexed 0 page(s)" in proc.stdout, proc.stdout
    assert web.since(mark) == [], web.since(mark)


def test_index_add_fails_when_nothing_could_be_indexed(web, parallax_bin, tmp_path):
    proc = index_add(parallax_bin, tmp_path / "data", web.url("wiki.example/Quellmoor.html"), allow_private=False)
    assert proc.returncode != 0, proc.stdout + proc.stderr


def test_index_add_takes_a_local_sitemap_file_and_a_folder(web, parallax_bin, tmp_path):
    """The README's forms of `index add`: a sitemap file on disk (its pages are fetched) and a
    folder of files (indexed as file:// pages)."""
    pages = ["wiki.example/Quellmoor.html", "zorblax.example/about.html"]
    sitemap = tmp_path / "sitemap.xml"
    sitemap.write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{web.url(p)}</loc></url>" for p in pages)
        + "</urlset>"
    )
    mark = web.count()
    proc = index_add(parallax_bin, tmp_path / "data", str(sitemap))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "indexed 2 page(s); 0 skipped" in proc.stdout, proc.stdout
    assert sorted(path.lstrip("/") for _, path, _ in web.since(mark)) == sorted(pages), web.since(mark)

    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Alpha\n\nAlpha notes.\n")
    (folder / "sub" / "b.txt").write_text("Beta\nBeta notes.\n")
    (folder / "image.png").write_bytes(b"\x89PNG")
    proc = index_add(parallax_bin, tmp_path / "data", str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "indexed 2 page(s); 0 skipped; the index holds 4 page(s)" in proc.stdout, proc.stdout


def test_server_without_flag_never_fetches_loopback(web, server_factory, parallax_bin):
    srv = server_factory("sqlite", start=False, scripted=False)
    assert "--allow-private-fetch" not in srv.command()
    proc = index_add(parallax_bin, srv.data_dir, web.url("sitemap.xml"), allow_private=False)
    assert "--allow-private-fetch" in proc.stdout + proc.stderr
    mark = web.count()
    srv.start()
    try:
        client = srv.client()
        res = run_task(
            client,
            input=f"What does {web.url('wiki.example/Quellmoor.html')} say about the mayor of Quellmoor?",
            processor="core",
            task_spec=json_spec(MAYOR_SCHEMA),
        )
        assert res.run.status == "completed"
        assert all(not b.citations for b in res.output.basis), res.output.basis
        assert res.output.content == {"mayor": None}, res.output.content
        assert web.since(mark) == [], f"the server fetched loopback pages: {web.since(mark)}"
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------
# 4. LLM synthesis (scripted OpenAI-compatible server)
# --------------------------------------------------------------------------------------

CEO_SCHEMA = {
    "type": "object",
    "properties": {
        "ceo": {"type": "string", "description": "Name of the current chief executive officer"},
        "ceo_since_year": {"type": "integer", "description": "Year the current CEO took office"},
    },
    "required": ["ceo", "ceo_since_year"],
    "additionalProperties": False,
}
CEO_ANSWER = {"ceo": "Mirela Okkaday", "ceo_since_year": 2019}


def _wrapper(output: dict, sources: dict, ceo_sources=(1,), since_sources=(1, 2)) -> str:
    return json.dumps(
        {
            "output": output,
            "basis": [
                {"field": "ceo", "sources": list(ceo_sources), "reasoning": "Source 1 names her as chief executive.", "confidence": "high"},
                {"field": "ceo_since_year", "sources": list(since_sources), "reasoning": "Sources give the year she took office.", "confidence": "medium"},
            ],
        }
    )


def _structured_problems(body: dict) -> list:
    """What is wrong with a structured-output request for CEO_SCHEMA."""
    problems = []
    rf = body.get("response_format") or {}
    if rf.get("type") != "json_schema":
        problems.append(f"response_format {rf!r}")
        return problems
    schema = (rf.get("json_schema") or {}).get("schema") or {}
    if schema.get("properties", {}).get("output") != CEO_SCHEMA:
        problems.append(f"wrapper output schema {schema.get('properties', {}).get('output')!r}")
    if set(schema.get("required", [])) != {"output", "basis"}:
        problems.append(f"wrapper required {schema.get('required')!r}")
    return problems


def _llm_input(case: str) -> dict:
    return {"company": "Zorblax Robotics", "request": f"llmcase-{case}"}


def check_llm_citations(web, citations, case: str, fake_llm: FakeLLM) -> None:
    """LLM citations: fixture pages served to the engine, whose excerpts are the text the
    model was shown under that source's number."""
    served = web.served()
    for c in citations:
        rel = web.rel(c.url)
        assert rel in FIXTURE_PAGES and rel in served, c.url
        shown = fake_llm.shown.get((case, c.url))
        assert shown is not None, f"{c.url} was not shown to the model"
        assert c.excerpts, c
        for e in c.excerpts:
            assert e.strip() and e in shown, f"excerpt {e!r} was not shown to the model under {c.url}"


def _check_llm_basis(web, res, sources: dict, fake_llm: FakeLLM, case: str):
    basis = {b.field: b for b in res.output.basis}
    assert set(basis) == {"ceo", "ceo_since_year"}, basis
    assert [c.url for c in basis["ceo"].citations] == [sources[1]], (basis["ceo"], sources)
    assert [c.url for c in basis["ceo_since_year"].citations] == [sources[1], sources[2]], basis["ceo_since_year"]
    assert basis["ceo"].confidence == "high" and basis["ceo_since_year"].confidence == "medium"
    assert basis["ceo"].reasoning == "Source 1 names her as chief executive."
    for b in basis.values():
        check_llm_citations(web, b.citations, case, fake_llm)


def test_llm_structured_output(web, llm_server, fake_llm):
    seen: dict = {}

    def script(n, body, sources):
        problems = _structured_problems(body)
        fake_llm.problems.extend(problems)
        seen.update(sources)
        if problems or 1 not in sources or 2 not in sources:
            return 401, {}, {"error": {"message": "test: unexpected request (see problems)"}}, 0
        return FakeLLM.completion(_wrapper(CEO_ANSWER, sources))

    fake_llm.scripts["structured"] = script
    res = run_task(llm_server.client(), input=_llm_input("structured"), processor="lite", task_spec=json_spec(CEO_SCHEMA))
    assert fake_llm.problems == [], fake_llm.problems
    assert len(fake_llm.requests["structured"]) == 1
    # The prompt numbers sources read in this run, with their URLs: fixture pages.
    assert seen and all(web.rel(u) in FIXTURE_PAGES for u in seen.values()), seen
    assert res.run.status == "completed" and res.output.type == "json"
    assert res.output.content == CEO_ANSWER
    assert not res.run.warnings, res.run.warnings
    _check_llm_basis(web, res, seen, fake_llm, "structured")
    # The prompt carried the question and the schema's field descriptions.
    prompt = json.dumps(fake_llm.requests["structured"][0]["messages"])
    assert "Zorblax Robotics" in prompt and "chief executive officer" in prompt


def test_llm_repair_after_invalid_answer(web, llm_server, fake_llm):
    seen: dict = {}

    def script(n, body, sources):
        seen.update(sources)
        if n == 1:  # a string where the schema wants an integer
            return FakeLLM.completion(_wrapper({"ceo": "Mirela Okkaday", "ceo_since_year": "since 2019"}, sources))
        return FakeLLM.completion(_wrapper(CEO_ANSWER, sources))

    fake_llm.scripts["repair"] = script
    res = run_task(llm_server.client(), input=_llm_input("repair"), processor="lite", task_spec=json_spec(CEO_SCHEMA))
    reqs = fake_llm.requests["repair"]
    assert len(reqs) == 2, len(reqs)
    first, second = reqs[0]["messages"], reqs[1]["messages"]
    assert len(second) > len(first)
    # The repair turn: the invalid answer sent back, then a request naming what is wrong.
    assert any(m["role"] == "assistant" and "since 2019" in m["content"] for m in second), second
    assert second[-1]["role"] == "user" and "ceo_since_year" in second[-1]["content"], second[-1]
    assert res.run.status == "completed"
    assert res.output.content == CEO_ANSWER
    assert not res.run.warnings, res.run.warnings
    _check_llm_basis(web, res, seen, fake_llm, "repair")


def test_llm_429_retry_after(web, llm_server, fake_llm):
    seen: dict = {}

    def script(n, body, sources):
        seen.update(sources)
        if n == 1:
            return 429, {"Retry-After": "0"}, {"error": {"message": "rate limited", "type": "rate_limit"}}, 0
        return FakeLLM.completion(_wrapper(CEO_ANSWER, sources))

    fake_llm.scripts["ratelimit"] = script
    started = time.monotonic()
    res = run_task(llm_server.client(), input=_llm_input("ratelimit"), processor="lite", task_spec=json_spec(CEO_SCHEMA))
    assert len(fake_llm.requests["ratelimit"]) == 2
    assert fake_llm.requests["ratelimit"][0] == fake_llm.requests["ratelimit"][1], "the retry is the same request"
    assert res.run.status == "completed"
    assert res.output.content == CEO_ANSWER
    assert not res.run.warnings, res.run.warnings
    assert time.monotonic() - started < 5, "Retry-After: 0 should not wait"
    _check_llm_basis(web, res, seen, fake_llm, "ratelimit")


def test_llm_text_output_cites_numbered_sources(web, llm_server, fake_llm):
    seen: dict = {}

    def script(n, body, sources):
        seen.update(sources)
        if body.get("response_format") not in (None, {"type": "text"}):
            fake_llm.problems.append(f"text output with response_format {body.get('response_format')!r}")
        return FakeLLM.completion("Mirela Okkaday has led Zorblax Robotics since 2019 [1].")

    fake_llm.scripts["text"] = script
    res = run_task(llm_server.client(), input="Who runs Zorblax Robotics? llmcase-text", processor="lite", task_spec={"output_schema": "The CEO's name"})
    assert fake_llm.problems == [], fake_llm.problems
    assert res.output.type == "text"
    assert res.output.content == "Mirela Okkaday has led Zorblax Robotics since 2019 [1]."
    (basis,) = res.output.basis
    assert basis.field == "output"
    assert [c.url for c in basis.citations] == [seen[1]]
    check_llm_citations(web, basis.citations, "text", fake_llm)


def test_llm_citation_excerpts_are_page_text(web, llm_server, fake_llm):
    """The excerpts of LLM citations (the passages shown to the model) are text of the page."""
    seen: dict = {}

    def script(n, body, sources):
        seen.update(sources)
        return FakeLLM.completion(_wrapper(CEO_ANSWER, sources, ceo_sources=sorted(sources), since_sources=(1,)))

    fake_llm.scripts["pagetext"] = script
    res = run_task(llm_server.client(), input=_llm_input("pagetext"), processor="lite", task_spec=json_spec(CEO_SCHEMA))
    assert res.output.content == CEO_ANSWER
    cites = {b.field: b for b in res.output.basis}["ceo"].citations
    assert [c.url for c in cites] == [seen[n] for n in sorted(seen)], (cites, seen)
    check_citations(web, cites, web.served())


def test_llm_timeout_falls_back_to_extractive(web, llm_server, research, fake_llm):
    q = QUESTIONS["zorblax_founded_on"]

    def script(n, body, sources):
        return (*FakeLLM.completion(_wrapper(CEO_ANSWER, sources))[:3], 2.5)  # later than the 1 s timeout

    fake_llm.scripts["timeout"] = script
    question = f"{q['input']} llmcase-timeout"
    started = time.monotonic()
    res = run_task(llm_server.client(), input=question, processor="lite", task_spec=json_spec(q["output_schema"]))
    elapsed = time.monotonic() - started
    assert len(fake_llm.requests["timeout"]) >= 2, "a timed-out request is retried"
    assert elapsed < 30, elapsed
    assert res.run.status == "completed"
    content = check_json_result(web, res, q["output_schema"])
    # The extractive answer: the same as the server without an LLM gives.
    plain = run_task(research.client(), input=question, processor="lite", task_spec=json_spec(q["output_schema"]))
    assert content == plain.output.content == q["expected"], (content, plain.output.content)
    warnings = [w.message for w in res.run.warnings or []]
    assert any("LLM" in w for w in warnings), warnings
    assert not plain.run.warnings, plain.run.warnings
