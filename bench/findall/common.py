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
