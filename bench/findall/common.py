"""What bench/findall/run.py, check.py and scale.py share: the corpus, the split rule, the main-text
rule, and name and URL normalisation. The fixture server, the index and server start-up, the HTTP
client and the report helpers are bench/eval/run.py's, loaded here as the module `evalrun` (both
files are called run.py, so it is loaded by path rather than imported by name)."""
import hashlib
import html
import importlib.util
import json
import os
import re
import sys
import unicodedata
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
WEB = os.path.join(HERE, "web")
QUERIES = os.path.join(HERE, "queries.json")
HELD_OUT_LOG = os.path.join(HERE, "HELD-OUT-LOG.md")

# The corpora `run.py --set` and `check.py --set` choose from. "default" is web/ with its dev and
# held-out parts (the split rule below); "dev2" is a dev-only corpus (dev2/web, dev2/queries.json)
# written after the first held-out look, to tune on without touching the held-out part: every one
# of its worlds is dev, it has no held-out part and no held-out log.
SETS = {
    "default": {"web": WEB, "queries": QUERIES, "split": True},
    "dev2": {"web": os.path.join(HERE, "dev2", "web"), "queries": os.path.join(HERE, "dev2", "queries.json"), "split": False},
}

_spec = importlib.util.spec_from_file_location("evalrun", os.path.join(REPO, "bench", "eval", "run.py"))
evalrun = importlib.util.module_from_spec(_spec)
sys.modules["evalrun"] = evalrun
_spec.loader.exec_module(evalrun)

# The split rule's salt: never change it to move a world someone has looked at.
SPLIT_SALT = "parallax-findall-split-v1/"


def worlds(web=WEB):
    """The worlds of the corpus: its top-level folders."""
    return evalrun.eval_worlds(web)


def held_out_worlds(all_worlds):
    """THE split rule: of the n worlds, the floor(n/2) with the smallest
    sha256(SPLIT_SALT + world) hex digest are held-out; the others are dev."""
    by_digest = sorted(all_worlds, key=lambda w: hashlib.sha256((SPLIT_SALT + w).encode("utf-8")).hexdigest())
    return set(by_digest[: len(all_worlds) // 2])


def part_of(world, all_worlds):
    return "held-out" if world in held_out_worlds(all_worlds) else "dev"


def load_queries(path=QUERIES):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pages(web=WEB):
    """Every page of the corpus, as root-relative paths ("w01-…/site.example/page.html")."""
    return evalrun.all_pages([web])


def main_text(raw):
    """A page's main text as the checks read it: bench/eval's rule (<main>, else <body>, without
    scripts, styles, <aside> blocks and the comment section), and without <nav> and <footer>
    blocks inside it either (breadcrumbs)."""
    s = re.sub(r"(?s)<(nav|footer)\b.*?</\1>", " ", raw)
    return evalrun.html_main_text(s)


class Texts:
    """Main texts of the corpus pages, cached."""

    def __init__(self, web=WEB):
        self.web = web
        self.cache = {}

    def text(self, rel):
        if rel not in self.cache:
            path = evalrun.resolve_page(rel, [self.web])
            if path is None or not rel.endswith((".html", ".htm")):
                self.cache[rel] = None
            else:
                with open(path, encoding="utf-8") as f:
                    self.cache[rel] = main_text(f.read())
        return self.cache[rel]


def norm(s):
    return evalrun.norm_text(html.unescape(s))


SUFFIXES = r"(ltd|limited|gmbh|inc|incorporated|llc|plc|co|company|corp|corporation|ag|sa|bv|srl)"


def norm_name(name):
    """A name for matching: lower-case, accents and punctuation gone, "&" as "and", a leading
    "the" and trailing company suffixes (Ltd, GmbH, Inc, Co., ...) stripped."""
    s = unicodedata.normalize("NFKD", name or "")
    s = "".join(c for c in s if not unicodedata.combining(c)).lower().replace("&", " and ")
    s = re.sub(r"[^\w\s]", " ", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"^the ", "", s)
    while True:
        t = re.sub(r"\s+" + SUFFIXES + r"$", "", s)
        if t == s:
            return s
        s = t


def norm_rel(rel):
    """A root-relative page path or folder URL, with "index.html" and trailing slashes dropped."""
    if rel is None:
        return None
    rel = rel.strip().lstrip("/")
    if rel.endswith("/index.html"):
        rel = rel[: -len("index.html")]
    return rel.rstrip("/")


def url_rel(url, port=None):
    """The normalised root-relative path of a URL served on the loopback port (any port when
    `port` is None; scheme and trailing slash ignored), or None for any other URL."""
    try:
        u = urllib.parse.urlsplit(url or "")
    except ValueError:
        return None
    if u.hostname not in ("127.0.0.1", "localhost") or (port is not None and u.port != port):
        return None
    return norm_rel(urllib.parse.unquote(u.path))


def sitemap_locs(web=WEB):
    """The root-relative paths the corpus sitemap lists (FIXTURE_HOST removed)."""
    with open(os.path.join(web, "sitemap.xml"), encoding="utf-8") as f:
        text = re.sub(r"(?s)<!--.*?-->", " ", f.read())
    return [re.sub(r"^https?://FIXTURE_HOST/", "", m.strip()) for m in re.findall(r"(?s)<loc>(.*?)</loc>", text)]


def commit():
    """The checked-out commit, marked when the tree has uncommitted changes (the held-out log,
    appended to by the runs themselves, does not count)."""
    import subprocess
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)bench/findall/HELD-OUT-LOG.md", ":(exclude)bench/eval/HELD-OUT-LOG.md"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "") if head else "?"
    except OSError:
        return "?"


class Stack:
    """The corpus served on a loopback port, indexed into a fresh data directory, and
    `parallax serve` on it (bench/eval/run.py's machinery). Use as a context manager; it stops
    the servers and removes the data directory (unless keep) on exit."""

    def __init__(self, binary, web, keep=False, log=print, prefix="parallax-findall-"):
        import secrets
        import tempfile
        self.keep, self.log = keep, log
        self.fixture, self.port, _ = evalrun.start_fixture_server([web])
        self.data_dir = tempfile.mkdtemp(prefix=prefix)
        self.server = None
        try:
            log("corpus on http://127.0.0.1:%d/ ; data dir %s" % (self.port, self.data_dir))
            self.index = evalrun.index_add(binary, self.data_dir, "http://127.0.0.1:%d/sitemap.xml" % self.port)
            log("indexed %(indexed)d page(s), %(skipped)d skipped, in %(seconds).1f s" % self.index)
            key = "px_findall_" + secrets.token_hex(12)
            self.server = evalrun.ParallaxServer(binary, self.data_dir, key)
            log("parallax serving on %s (pid %d)" % (self.server.base, self.server.proc.pid))
            self.api = evalrun.Api(self.server.host, self.server.port, key)
        except BaseException:
            self.close()
            raise

    def findall_served(self):
        """(True, None) when the server answers POST /v1beta/findall/runs with something other
        than 404 (an empty body must be refused with 422), else (False, what it answered)."""
        status, body = self.api.request("POST", "/v1beta/findall/runs", {})
        return status != 404, (status, str(body)[:200])

    def close(self):
        if self.server is not None:
            self.server.stop()
        self.fixture.shutdown()
        self.fixture.server_close()
        if self.keep:
            self.log("kept the data directory %s" % self.data_dir)
        else:
            import shutil
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
