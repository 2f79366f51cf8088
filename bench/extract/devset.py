#!/usr/bin/env python3
"""Main-content extraction on the 983-page development set, beside trafilatura, in one run.

The set (`../shared/extraction-dev` beside the repository, or --set / $PARALLAX_EXTRACTION_DEV)
has, per page, snippets a good extraction keeps (`With`) and boilerplate it must drop
(`Without`), and for many pages the title, date and authors. See its README.

    python3 bench/extract/devset.py                  # the dev part: quality and time
    python3 bench/extract/devset.py --failures 30    # dev pages that lose snippets, worst first
    python3 bench/extract/devset.py --show FILE      # one dev page: snippets and Parallax's text
    python3 bench/extract/devset.py --part held-out  # held-out figures only (logged, see below)
    python3 bench/extract/devset.py --api            # the same pages through POST /v1/extract

**The split** is by site (the page's host without `www.`; for web.archive.org copies, the
archived page's host), so no site's template is on both sides: a site whose
`sha256(SALT + site)` falls in the lowest 30 % is held out. Develop on the dev part only.
`--show` and `--failures` refuse held-out pages. Computing held-out (or whole-set) figures
appends a line to `HELD-OUT-LOG.md` beside this script, so every look is on record: commit it.

**Scores** are the set's own (`score.py`, trafilatura's evaluation): a `With` snippet found in
the extracted text is a true positive, a `Without` snippet found a false positive, whitespace
collapsed on both sides; precision, recall, F1 and accuracy over all snippets of the part.
Parallax is scored on `Extracted::text` (plain text, no markdown syntax); trafilatura on
`extract(html, url=URL)` with default settings and plain-text output. Metadata: the title
matches when equal after whitespace is collapsed and case folded; the date when the same
`YYYY-MM-DD`; the authors when the two sets of names are equal (each string split at `;`, `,`,
`&`, "and", "und", "et", "y", "i"; case folded). trafilatura's metadata is its
`extract_metadata`, scored the same way.

**Decoding**: both extractors get each page as the same `str`, decoded from its bytes as the
server's fetcher decodes a body without a charset header (`decode_page`: byte-order mark, then a
`<meta charset>` in the first 1024 bytes, then UTF-8 if valid, else windows-1252); 27 pages of
the set are not UTF-8 (mostly German pages in ISO-8859-1).

**Through the API** (`--api`): the release server (`parallax serve`, a fresh temporary data
directory, embedded SQLite and local index, `--allow-private-fetch` so that it may read
loopback pages: the operator's switch, off by default) reads the part's pages from a static
HTTP server on loopback (`parallax-bench site`: from memory, one thread) that serves each page at its own URL's path and query (a path two
pages share gets a `/_N` prefix for the later ones), with the bytes as stored and
`text/html; charset=utf-8` when they are valid UTF-8 (else `text/html`, so the page's own
declaration decides). One client sends the pages in batches of 10 URLs
(`{"urls", "full_content": true}`, excerpts on by default), one batch after the other. Each
result's `full_content` is turned into plain text by the extractor's own `markdown_to_text`
(`parallax-bench md-text`) and scored like the in-process text; title and date come from the
result's `title` and `publish_date`. Reported: the wall time from the first request to the
last answer, against trafilatura's in-process CPU time in the same run, and their ratio.
With `--stages`, a second run with the server's per-stage timing log
(`parallax_engine::timing`, debug level, which costs a few per cent) is summed into a table of
stages (see `stages.py`); the reported wall time is always the first run's, without it.

**Time**: each extractor runs the pages in one process (pinned to one core with `taskset` when
available), and the sum over pages of its CPU time of extraction alone is reported (file
reading and decoding outside), with the ratio trafilatura ÷ Parallax.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
from run import cpu_model, ensure_venv, pin_prefix, run_jsonl, sha256  # noqa: E402

SALT = "parallax-devset-split-v1:"
HELD_OUT_SHARE = 0.30
LOG = HERE / "HELD-OUT-LOG.md"


def locate_set(given: Path | None) -> Path:
    candidates = [given] if given else []
    if os.environ.get("PARALLAX_EXTRACTION_DEV"):
        candidates.append(Path(os.environ["PARALLAX_EXTRACTION_DEV"]))
    candidates.append(REPO.parent / "shared" / "extraction-dev")
    for c in candidates:
        if c and (c / "entries.json").is_file() and (c / "pages.tar.xz").is_file():
            return c
    sys.exit("the development set was not found: pass --set DIR (with entries.json and pages.tar.xz)")


def unpack(set_dir: Path, cache: Path) -> Path:
    """The set's pages, unpacked once into the cache (keyed by the archive's sha256)."""
    digest = sha256(set_dir / "pages.tar.xz")[:16]
    root = cache / f"devset-{digest}"
    if not (root / "files").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(set_dir / "pages.tar.xz") as tar:
            tar.extractall(root, filter="data")
    return root / "files"


# WHATWG encoding labels whose Python codec differs from the one the label names in Python
# (the web reads "iso-8859-1" as windows-1252, "gb2312" as GBK/GB18030, "shift_jis" as
# windows-31j, ...), as encoding_rs does for the server.
WHATWG_CODECS = {
    **dict.fromkeys(["iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "ascii", "us-ascii",
                     "cp819", "ibm819", "iso-ir-100", "csisolatin1", "x-cp1252", "cp1252"], "cp1252"),
    **dict.fromkeys(["gb2312", "gbk", "x-gbk", "chinese", "csgb2312", "gb_2312-80", "iso-ir-58", "gb18030"], "gb18030"),
    **dict.fromkeys(["shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "ms932", "windows-31j", "csshiftjis"], "cp932"),
    **dict.fromkeys(["euc-kr", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "windows-949", "cseuckr"], "cp949"),
    **dict.fromkeys(["iso-8859-9", "iso8859-9", "latin5", "l5", "windows-1254"], "cp1254"),
    **dict.fromkeys(["tis-620", "iso-8859-11", "iso8859-11", "windows-874", "dos-874"], "cp874"),
    **dict.fromkeys(["big5", "big5-hkscs", "cn-big5", "x-x-big5"], "big5hkscs"),
    **dict.fromkeys(["utf-16", "utf-16le", "utf-16be", "unicode", "ucs-2"], "utf-8"),
    "x-user-defined": "cp1252",
}


def meta_charset(head: bytes) -> str | None:
    """The Python codec of a `<meta charset>` or `<meta http-equiv content="...; charset=...">`
    in the first 1024 bytes, as `meta_charset` in crates/engine/src/fetch/decode.rs finds it."""
    import codecs
    lower = head[:1024].lower()
    for m in re.finditer(rb"<meta([^>]*)", lower):
        for c in re.finditer(rb"charset\s*=\s*[\"']?([^\"'\s;/>]*)", m.group(1)):
            label = c.group(1).decode("ascii", "replace")
            codec = WHATWG_CODECS.get(label, label)
            try:
                codecs.lookup(codec)
                return codec
            except LookupError:
                continue
    return None


def decode_page(raw: bytes) -> str:
    """A page's bytes as the server's fetcher decodes them (`decode_text` in
    crates/engine/src/fetch/decode.rs, without a Content-Type header): a byte-order mark,
    then a meta charset, then UTF-8 when the bytes are valid UTF-8, else windows-1252."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            return raw[len(bom):].decode(codec, errors="replace")
    codec = meta_charset(raw)
    if codec is None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            codec = "cp1252"
    return raw.decode(codec, errors="replace")


def decoded(files: Path, entries: list) -> Path:
    """The pages decoded as the server decodes them ([`decode_page`]) and written as UTF-8,
    once, beside the unpacked ones: both extractors read these, so that neither sees a
    Latin-1 page as UTF-8 with its accented letters replaced."""
    out = files.parent / "decoded-v1"
    out.mkdir(exist_ok=True)
    for e in entries:
        target = out / e["File"]
        if not target.exists():
            target.write_text(decode_page((files / e["File"]).read_bytes()), encoding="utf-8")
    return out


def site(url: str) -> str:
    """The page's site: its host without `www.`; the archived page's host on web.archive.org."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "web.archive.org":
        m = re.match(r"/web/[^/]+/(.+)", parts.path)
        if m:
            inner = m.group(1)
            if "://" not in inner:
                inner = "http://" + inner
            host = (urllib.parse.urlsplit(inner).hostname or host).lower()
    return host[4:] if host.startswith("www.") else host


def held_out(entry: dict) -> bool:
    h = hashlib.sha256((SALT + site(entry["URL"])).encode()).digest()
    return int.from_bytes(h[:4], "big") < HELD_OUT_SHARE * 2**32


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s or "").strip()


def snippet_counts(entry: dict, text: str):
    text = norm(text)
    kept = sum(norm(w) in text for w in entry["With"])
    leaked = sum(norm(w) in text for w in entry["Without"])
    return kept, len(entry["With"]), leaked, len(entry["Without"])


def score(entries: list, texts: dict) -> dict:
    tp = fn = fp = tn = 0
    for e in entries:
        kept, n_with, leaked, n_without = snippet_counts(e, texts.get(e["File"], ""))
        tp += kept
        fn += n_with - kept
        fp += leaked
        tn += n_without - leaked
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    acc = (tp + tn) / (tp + tn + fp + fn) if tp + tn + fp + fn else 0.0
    return {"precision": p, "recall": r, "f1": f1, "accuracy": acc}


AUTHOR_SEPARATORS = re.compile(r"\s*(?:;|,|&|\band\b|\bund\b|\bet\b|\by\b|\bi\b)\s*", re.IGNORECASE)


def author_names(authors) -> frozenset:
    """The names in a list of author strings, each split at separators ("A und B", "A; B"),
    whitespace collapsed and case folded, so that both extractors' lists compare as sets."""
    names = set()
    for a in authors or []:
        for n in AUTHOR_SEPARATORS.split(a):
            n = norm(n).casefold()
            if n:
                names.add(n)
    return frozenset(names)


def metadata_accuracy(entries: list, results: dict) -> dict:
    """Share of pages whose title (equal after whitespace collapse and case folding), date
    (same YYYY-MM-DD) and authors (the same set of names) match the set's, over the pages
    where the set states one."""
    out = {}
    title = [e for e in entries if e.get("Title")]
    if title:
        ok = sum(norm(results.get(e["File"], {}).get("title") or "").casefold() == norm(e["Title"]).casefold()
                 for e in title)
        out["title"] = (ok, len(title))
    dated = [e for e in entries if e.get("Date")]
    if dated:
        ok = sum((results.get(e["File"], {}).get("date") or "")[:10] == e["Date"][:10] for e in dated)
        out["date"] = (ok, len(dated))
    authored = [e for e in entries if e.get("Authors")]
    if authored:
        ok = sum(author_names(results.get(e["File"], {}).get("authors")) == author_names(e["Authors"])
                 for e in authored)
        out["authors"] = (ok, len(authored))
    return out


def manifest(entries: list, files: Path, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps({"file": str(files / e["File"]), "url": e["URL"]}) + "\n")


def log_look(part: str, n: int) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    if not LOG.exists():
        LOG.write_text("# Looks at the held-out part of the extraction dev set\n\n"
                       "`devset.py` appends a line each time it computes figures that include held-out pages.\n\n")
    with open(LOG, "a", encoding="utf-8") as f:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        f.write(f"- {stamp}: `{part}` ({n} pages), commit {commit}{' + uncommitted changes' if dirty else ''}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, help="the development set's directory")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "PARALLAX_EXTRACT_CACHE", Path.home() / ".cache" / "parallax-extract-bench")))
    ap.add_argument("--part", choices=["dev", "held-out", "all"], default="dev")
    ap.add_argument("--core", type=int, default=0, help="core to pin both extractors to (-1: none)")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-trafilatura", action="store_true")
    ap.add_argument("--failures", type=int, metavar="N", help="list the N dev pages that lose most snippets")
    ap.add_argument("--meta-failures", nargs=2, metavar=("FIELD", "N"),
                    help="list N dev pages whose title, date or authors differ from the set's")
    ap.add_argument("--show", metavar="FILE", help="one dev page: its snippets and Parallax's text")
    ap.add_argument("--json", type=Path, help="write per-page results here")
    ap.add_argument("--api", action="store_true",
                    help="read the pages through POST /v1/extract of the release server (see above)")
    ap.add_argument("--stages", action="store_true",
                    help="with --api: a second API run with the server's per-stage timing, summed in a table")
    ap.add_argument("--server-log", type=Path, help="with --api: keep the server's log here")
    args = ap.parse_args()

    set_dir = locate_set(args.set)
    entries = json.load(open(set_dir / "entries.json", encoding="utf-8"))
    files = decoded(unpack(set_dir, args.cache), entries)
    dev = [e for e in entries if not held_out(e)]
    held = [e for e in entries if held_out(e)]
    part = {"dev": dev, "held-out": held, "all": entries}[args.part]
    if args.show:
        part = [e for e in dev if e["File"] == args.show]
        if not part:
            sys.exit(f"{args.show} is not a dev page (held-out pages are for figures only)")
    if args.api and (args.failures or args.show or args.meta_failures):
        sys.exit("--api reports figures only")
    if (args.failures or args.show or args.meta_failures) and args.part != "dev":
        sys.exit("--failures and --show look at dev pages only")
    if args.part != "dev":
        log_look(args.part, len(part))

    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not args.skip_build:
        packages = ["-p", "parallax-bench"] + (["-p", "parallax"] if args.api else [])
        subprocess.run(["cargo", "build", "--release", "-q", *packages], cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        man = Path(tmp) / "manifest.jsonl"
        manifest(part, files, man)
        pin = pin_prefix(args.core)
        if args.api:
            import api
            import stages
            log = args.server_log or Path(tmp) / "server.log"
            via_api, api_wall, api_info = api.run(part, files, target, log)
            api_stages = None
            if args.stages:
                timed = log.with_name(log.name + ".stages")
                _, stages_wall, _ = api.run(part, files, target, timed, stages=True)
                api_stages = stages.summarise(timed)
        px = {Path(r["file"]).name: r for r in run_jsonl(
            pin + [str(target / "release" / "parallax-bench"), "extract", "--reps", "1", "--manifest", str(man)])}
        tr = {}
        if not args.no_trafilatura and not args.show and not args.failures and not args.meta_failures:
            py = ensure_venv(args.cache / "trafilatura-venv")
            tr = {Path(r["file"]).name: r for r in run_jsonl(
                pin + [str(py), str(HERE / "trafilatura_runner.py"), "1", "--manifest", str(man), "--configs", "default"])}

    px_text = {f: r["text"] for f, r in px.items()}
    if args.show:
        e = part[0]
        text = px_text.get(e["File"], "")
        print(f"# {e['File']}  {e['URL']}  (site {site(e['URL'])})")
        for w in e["With"]:
            print(f"  with    {'KEPT   ' if norm(w) in norm(text) else 'MISSED '} {w[:150]}")
        for w in e["Without"]:
            print(f"  without {'LEAKED ' if norm(w) in norm(text) else 'dropped'} {w[:150]}")
        print(f"  title: {px[e['File']].get('title')!r} (set: {e.get('Title')!r}); date: {px[e['File']].get('date')} (set: {e.get('Date')})")
        print(f"  authors: {px[e['File']].get('authors')!r} (set: {e.get('Authors')!r})")
        print("\n" + px[e["File"]]["markdown"])
        return 0
    if args.meta_failures:
        field, n = args.meta_failures[0], int(args.meta_failures[1])
        key = {"title": "Title", "date": "Date", "authors": "Authors"}[field]
        shown = 0
        for e in part:
            if not e.get(key) or shown >= n:
                continue
            got = px.get(e["File"], {}).get(field)
            if metadata_accuracy([e], px).get(field, (1, 1))[0] == 0:
                print(f"{e['File']:50s} got {got!r}  set {e[key]!r}")
                shown += 1
        return 0
    if args.failures:
        rows = []
        for e in part:
            kept, n_with, leaked, n_without = snippet_counts(e, px_text.get(e["File"], ""))
            if kept < n_with or leaked:
                rows.append((n_with - kept + leaked, e["File"], kept, n_with, leaked, n_without))
        rows.sort(reverse=True)
        print(f"{len(rows)} of {len(part)} dev pages lose a snippet; the worst {args.failures}:")
        for lost, f, kept, n_with, leaked, n_without in rows[: args.failures]:
            print(f"  {f:60s} kept {kept}/{n_with}  leaked {leaked}/{n_without}")
        return 0

    print(f"# {len(part)} pages ({args.part}; dev {len(dev)}, held-out {len(held)}); CPU {cpu_model()}")
    print(f"{'extractor':24s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'accuracy':>8s} {'CPU s':>7s}")
    px_cpu = sum(r["cpu_micros"] for r in px.values()) / 1e6
    s = score(part, px_text)
    print(f"{'Parallax (in process)':24s} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} {s['accuracy']:8.3f} {px_cpu:7.2f}")
    if tr:
        tr_cpu = sum(r["cpu_micros"] for r in tr.values()) / 1e6
        t = score(part, {f: r["text"] for f, r in tr.items()})
        print(f"{'trafilatura 2.3.1':24s} {t['precision']:9.3f} {t['recall']:7.3f} {t['f1']:6.3f} {t['accuracy']:8.3f} {tr_cpu:7.2f}")
        print(f"time ratio trafilatura / Parallax: {tr_cpu / px_cpu:.1f}x")
    if args.api:
        a = score(part, {f: r["text"] for f, r in via_api.items()})
        print(f"{'Parallax (Extract API)':24s} {a['precision']:9.3f} {a['recall']:7.3f} {a['f1']:6.3f} {a['accuracy']:8.3f} {'':>7s}")
        same = sum(via_api.get(f, {}).get("text") == t for f, t in px_text.items())
        print(f"API text equal to in-process text: {same}/{len(px_text)} pages; "
              f"{api_info['errors']} URLs answered as errors")
        print(f"Extract API: {len(part)} pages in {api_info['batches']} requests of {api.BATCH} URLs "
              f"(full_content, loopback): {api_wall:.2f} s wall")
        if tr:
            print(f"time ratio Extract API wall / trafilatura in-process CPU: {api_wall / tr_cpu:.2f} "
                  f"(target <= 0.50)")
        if api_stages is not None:
            print(f"per stage (a second run with the timing log on: {stages_wall:.2f} s wall):")
            print(stages.table(api_stages))
        threads = api_info["threads"]
        print(f"server CPU: {threads.pop('total'):.2f} s in all; by live thread: "
              + ", ".join(f"{n} {c:.2f}" for n, c in sorted(threads.items(), key=lambda x: -x[1]) if c >= 0.05)
              + f"; the loopback site {api_info['site_cpu']:.2f} s, the client {api_info['client_cpu']:.2f} s")
        for name, (ok, n) in metadata_accuracy(part, via_api).items():
            if name == "authors":
                continue  # Parallel's ExtractResult has no authors field
            print(f"metadata {name} (Extract API): {ok}/{n} = {ok / n:.3f}")
    meta = metadata_accuracy(part, px)
    tr_meta = metadata_accuracy(part, tr) if tr else {}
    for name, (ok, n) in meta.items():
        line = f"metadata {name:8s} Parallax {ok}/{n} = {ok / n:.3f}"
        if name in tr_meta:
            line += f"   trafilatura {tr_meta[name][0]}/{n} = {tr_meta[name][0] / n:.3f}"
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"parallax": px, "trafilatura": tr, "api": via_api if args.api else {}},
                                        ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
