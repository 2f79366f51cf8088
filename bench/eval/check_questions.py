#!/usr/bin/env python3
"""Check bench/eval/questions.json against the document root that bench/eval/run.py serves: the
fixture web (tests/fixtures/web/), then the evaluation web (bench/eval/web/, when it exists).

For every question, every field with an expected value and every page in `source`, at least one
of the field's `evidence` strings must occur (case-insensitively, whitespace collapsed) in the
page's main content: the <main> element (else <body>) without scripts, styles, <aside> blocks and
the comment section; for a PDF, the output of `pdftotext`. A field expected null (no page states
it) must have no evidence. Also checks ids, schema/expected/evidence agreement, the types of
expected values, the `shapes` tags, and that every question can be placed in the dev/held-out
split (its sources all in the fixture web, or all in one world of the evaluation web; see
`split_questions` in run.py). With -v, lists other pages that contain a field's evidence too.

    python3 bench/eval/check_questions.py [-v] [--questions FILE] [--eval-web DIR]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the split rule, the document root, the main-text rule)

# Tags a question's `shapes` may give a field: what makes the answer hard to find or to read.
SHAPES = {
    "table",        # the value is in a table
    "infobox",      # ... in an infobox
    "list",         # ... in a list, or the answer is a list
    "prose-date",   # a date written in running text
    "meta-date",    # a date only in the page's metadata or byline
    "number-unit",  # a number with a unit or scale word ("4.2 million", "212 m")
    "thousands",    # a number with thousands separators
    "superseded",   # an older value elsewhere has been replaced by a newer one
    "near-name",    # a similar name (another person, place or product) is near
    "two-hop",      # the answer needs two facts, on one page or two
    "no-answer",    # no page states it: the expected value is null
    "boilerplate",  # a distractor in navigation, sidebars, footers or comments
    "name",         # the answer is a name
    "enum",         # the answer is a member of an enum
    "boolean",      # the answer is a boolean
}


def main_text(rel, roots):
    path = run.resolve_page(rel, roots)
    if path is None:
        return None
    if rel.endswith(".pdf"):
        if not shutil.which("pdftotext"):
            crude = run.crude_pdf_text(path)
            return run.norm_text(crude) if crude else None  # None: not checked (see main)
        out = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout
        return run.norm_text(out)
    with open(path, encoding="utf-8") as f:
        return run.html_main_text(f.read())


def type_ok(schema, value):
    t = schema["type"]
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "array":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if t != "string" or not isinstance(value, str):
        return False
    if "enum" in schema:
        return value in schema["enum"]
    if "YYYY-MM-DD" in schema.get("description", ""):
        return re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-v", action="store_true", dest="verbose", help="list other pages holding a field's evidence")
    ap.add_argument("--questions", default=run.QUESTIONS)
    ap.add_argument("--eval-web", default=run.EVAL_WEB)
    args = ap.parse_args()

    roots = run.web_roots(os.path.abspath(args.eval_web))
    pages = run.all_pages(roots)
    text = {p: main_text(p, roots) for p in pages}
    with open(args.questions, encoding="utf-8") as f:
        questions = json.load(f)
    problems = []
    warnings = []
    try:
        placed, held_out, worlds = run.split_questions(questions, os.path.abspath(args.eval_web))
    except run.SetupError as e:
        problems.extend(line.strip() for line in str(e).splitlines()[1:])
        placed, held_out, worlds = {}, set(), run.eval_worlds(os.path.abspath(args.eval_web))
    ids = set()
    for q in questions:
        qid = q["id"]
        if qid in ids:
            problems.append("%s: duplicate id" % qid)
        ids.add(qid)
        props = q["output_schema"]["properties"]
        if not (set(props) == set(q["expected"]) == set(q["evidence"])):
            problems.append("%s: schema, expected and evidence name different fields" % qid)
            continue
        shapes = q.get("shapes")
        in_eval_web = placed.get(qid, ("", "fixture"))[1] != "fixture"
        if shapes is None:
            if in_eval_web:
                problems.append("%s: no `shapes` (every question of the evaluation web has them)" % qid)
        elif not isinstance(shapes, dict) or not set(shapes) <= set(props):
            problems.append("%s: `shapes` must map fields of the schema to lists of tags" % qid)
        else:
            for field, tags in shapes.items():
                if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                    problems.append("%s.%s: shapes must be a list of tags" % (qid, field))
                    continue
                unknown = [t for t in tags if t not in SHAPES]
                if unknown:
                    problems.append("%s.%s: unknown shape tag(s) %s (known: %s)"
                                    % (qid, field, ", ".join(unknown), ", ".join(sorted(SHAPES))))
                if ("no-answer" in tags) != (q["expected"][field] is None):
                    warnings.append("%s.%s: the `no-answer` tag and an expected null go together" % (qid, field))
        for field, schema in props.items():
            expected = q["expected"][field]
            evidence = q["evidence"][field]
            if not isinstance(evidence, list) or not all(isinstance(e, str) and e.strip() for e in evidence):
                problems.append("%s.%s: evidence must be a list of non-empty strings" % (qid, field))
                continue
            if expected is None:
                if evidence:
                    problems.append("%s.%s: expected null (no page states it) but has evidence" % (qid, field))
                continue
            if not evidence:
                problems.append("%s.%s: no evidence for an expected value" % (qid, field))
            if not type_ok(schema, expected):
                problems.append("%s.%s: expected value does not fit the schema" % (qid, field))
            if run.field_kind(schema) in ("string", "array") and q.get("match", {}).get(field) not in ("exact", "contains"):
                problems.append("%s.%s: no match rule" % (qid, field))
        if not q["source"] and any(v is not None for v in q["expected"].values()):
            problems.append("%s: expected values but no source page" % qid)
        for src in q["source"]:
            if src not in text:
                problems.append("%s: no such page %s" % (qid, src))
                continue
            if text[src] is None:
                continue  # a PDF without pdftotext
            for field, evidence in q["evidence"].items():
                if evidence and not any(e.lower() in text[src] for e in evidence):
                    problems.append("%s.%s: none of %r in %s" % (qid, field, evidence, src))
        if args.verbose:
            for field, evidence in q["evidence"].items():
                others = [p for p in pages if p not in q["source"] and text[p]
                          and any(e.lower() in text[p] for e in evidence)]
                if others:
                    print("%s.%s %r also on: %s" % (qid, field, evidence, ", ".join(others)))
    unread = [p for p in pages if text[p] is None]
    if unread:
        warnings.append("pdftotext not found (poppler-utils) and a crude reader failed: the evidence of %s "
                        "not checked" % ", ".join(unread))
    for w in warnings:
        print("WARNING", w)
    for p in problems:
        print("PROBLEM", p)
    hard = sum(q.get("difficulty") == "hard" for q in questions)
    nulls = sum(v is None for q in questions for v in q["expected"].values())
    parts = {part: sum(1 for pw in placed.values() if pw[0] == part) for part in run.PARTS}
    print("%d questions (%d hard, %d null fields; dev %d, held-out %d), %d pages, %d worlds (%d held out), "
          "%d problems" % (len(questions), hard, nulls, parts["dev"], parts["held-out"], len(pages), len(worlds),
                           len(held_out), len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
