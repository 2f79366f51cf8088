#!/usr/bin/env python3
"""Search evaluation: do `POST /v1/search` results rank the pages that answer a question
first, and do their excerpts state the answer?

    python3 bench/search/run.py                 # release build, then every mode
    python3 bench/search/run.py --skip-build --modes basic,advanced --max-results 5

Uses the dev questions of bench/eval/questions.json (the 76 of the fixture web and those of the
evaluation web's dev worlds; held-out questions are never asked here) over the document root
that bench/eval/run.py serves (tests/fixtures/web, then bench/eval/web, on loopback, indexed
through the union of their sitemaps). Each question
becomes one search: the objective is the question's input followed by its fields'
descriptions, and the one keyword query is the input followed by the fields' names. For every
mode it reports:

- hit@1 / hit@k: a page of the question's `source` list (each states every expected value) is
  the first result / among the k results;
- MRR of the first source page;
- answer in excerpts: fields whose `evidence` string (any one) appears in the excerpts of all
  results together, and in the first result's excerpts alone;
- excerpt characters per response and the median latency.

`basic` keeps the providers' order (BM25 on the local index, fused by reciprocal rank);
`advanced` reads twice as many candidates and re-ranks them by their best passage, so the two
rows show what the re-ranking adds.
"""

import argparse
import importlib.util
import json
import os
import re
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
_spec = importlib.util.spec_from_file_location("eval_run", os.path.join(REPO, "bench", "eval", "run.py"))
ev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ev)

API_KEY = "bench-search-key"


def input_text(value):
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    return str(value)


def search_body(q, mode, max_results):
    props = q["output_schema"].get("properties", {})
    text = input_text(q["input"])
    descriptions = "; ".join(p.get("description", k) for k, p in props.items())
    names = " ".join(k.replace("_", " ") for k in props)
    return {
        "objective": f"{text}: {descriptions}",
        "search_queries": [f"{text} {names}"],
        "mode": mode,
        "advanced_settings": {"max_results": max_results},
    }


def plain(markdown):
    """Excerpt markdown as comparable text: link targets and emphasis marks removed."""
    s = re.sub(r"\]\([^)]*\)", "]", markdown)
    s = re.sub(r"[\\*_#|`\[\]>]", " ", s)
    return ev.norm_text(s)


def evidence_found(q, text):
    found = 0
    for field, strings in q.get("evidence", {}).items():
        if any(ev.norm_text(s) in text for s in strings):
            found += 1
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="turbo,fast,basic,advanced")
    ap.add_argument("--max-results", type=int, default=5)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--binary", default=ev.DEFAULT_BINARY)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()

    if not args.skip_build:
        ev.build()
    questions = json.load(open(ev.QUESTIONS))
    # The dev part only: searches over held-out questions would be a look at them (bench/eval/README.md).
    placed = ev.split_questions(questions)[0]
    questions = [q for q in questions if placed[q["id"]][0] == "dev"]
    web, port, _ = ev.start_fixture_server()
    data_dir = tempfile.mkdtemp(prefix="parallax-search-eval-")
    indexed = ev.index_add(args.binary, data_dir, "http://127.0.0.1:%d/sitemap.xml" % port)
    server = ev.ParallaxServer(args.binary, data_dir, API_KEY)
    api = ev.Api(server.host, server.port, API_KEY)
    k = args.max_results
    rows, raw = [], []
    try:
        for mode in args.modes.split(","):
            hits1 = hitsk = 0
            rr = []
            fields = found_all = found_first = 0
            chars, latencies = [], []
            for q in questions:
                body = search_body(q, mode, k)
                t0 = time.perf_counter()
                status, answer = api.request("POST", "/v1/search", body)
                latencies.append((time.perf_counter() - t0) * 1000)
                if status != 200:
                    sys.exit(f"search answered {status}: {answer}")
                rels = [ev.fixture_rel(r["url"], port) for r in answer["results"]]
                sources = set(q["source"])
                rank = next((i + 1 for i, rel in enumerate(rels) if rel in sources), None)
                hits1 += rank == 1
                hitsk += rank is not None
                rr.append(1.0 / rank if rank else 0.0)
                every = plain(" ".join(e for r in answer["results"] for e in r["excerpts"]))
                first = plain(" ".join(answer["results"][0]["excerpts"])) if answer["results"] else ""
                n = sum(1 for e in q.get("evidence", {}).values() if e)  # expected-null fields have none
                fields += n
                found_all += evidence_found(q, every)
                found_first += evidence_found(q, first)
                chars.append(sum(len(e) for r in answer["results"] for e in r["excerpts"]))
                raw.append({"mode": mode, "id": q["id"], "rank": rank, "results": rels})
            n_q = len(questions)
            rows.append({
                "mode": mode, "hit@1": hits1 / n_q, f"hit@{k}": hitsk / n_q,
                "mrr": statistics.mean(rr), "answer_in_excerpts": found_all / fields,
                "answer_in_first": found_first / fields, "chars": statistics.median(chars),
                "p50_ms": statistics.median(latencies),
            })
    finally:
        server.stop()
        web.shutdown()
    meta = ev.machine()
    print(f"machine: {meta['cpu']}, {meta['nproc']} cores; commit {ev.commit()}")
    print(f"{len(questions)} questions, {indexed['indexed']} pages indexed, max_results {k}")
    print(f"{'mode':10} {'hit@1':>7} {f'hit@{k}':>7} {'MRR':>6} {'answer in excerpts':>19} "
          f"{'in 1st result':>14} {'chars':>7} {'p50 ms':>7}")
    for r in rows:
        print(f"{r['mode']:10} {r['hit@1']:7.1%} {r[f'hit@{k}']:7.1%} {r['mrr']:6.3f} "
              f"{r['answer_in_excerpts']:19.1%} {r['answer_in_first']:14.1%} {r['chars']:7.0f} "
              f"{r['p50_ms']:7.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "runs": raw, "machine": meta}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
