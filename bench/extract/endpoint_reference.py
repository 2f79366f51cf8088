"""The reference side of bench/extract/endpoint.py, run in the trafilatura venv: per round,
fetch the pages concurrently (threads, fresh query strings, like Parallax's cold rounds) and
extract each with trafilatura in a pool of worker processes. Prints {"ms": [per round]}."""

import argparse
import json
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import trafilatura


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read().decode("utf-8", errors="replace")


def extract(html):
    return trafilatura.extract(html, output_format="markdown", include_comments=False,
                               include_tables=True) or ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("pages", nargs="+")
    args = ap.parse_args()
    with ProcessPoolExecutor(args.workers) as pool, ThreadPoolExecutor(len(args.pages)) as threads:
        # Warm the workers (imports, lxml) before timing.
        warm = list(threads.map(fetch, [f"{args.base}/{p}?refwarm=1" for p in args.pages]))
        list(pool.map(extract, warm))
        times = []
        for r in range(args.rounds):
            started = time.perf_counter()
            htmls = list(threads.map(fetch, [f"{args.base}/{p}?ref={r}" for p in args.pages]))
            texts = list(pool.map(extract, htmls))
            times.append((time.perf_counter() - started) * 1000)
            assert all(texts), "trafilatura extracted nothing from a page"
    print(json.dumps({"ms": times}))


if __name__ == "__main__":
    main()
