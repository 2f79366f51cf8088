#!/usr/bin/env python3
"""Check bench/eval/questions.json against the fixture web (tests/fixtures/web/).

For every question, every field and every page in `source`, at least one of the field's
`evidence` strings must occur (case-insensitively, whitespace collapsed) in the page's main
content: the <main> element without scripts, styles, <aside> blocks and the comment section; for
the PDF, the output of `pdftotext`. Also checks ids, schema/expected/evidence agreement and the
types of expected values. With -v, lists other pages that contain a field's evidence too.

    python3 bench/eval/check_questions.py [-v]
"""
import html
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "fixtures", "web"))
QUESTIONS = os.path.join(HERE, "questions.json")


def main_text(rel):
    path = os.path.join(ROOT, rel)
    if rel.endswith(".pdf"):
        out = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout
    else:
        s = open(path, encoding="utf-8").read()
        s = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", s)
        s = re.search(r"(?s)<main\b.*?</main>", s).group(0)
        s = re.sub(r'(?s)<section class="comments".*?</section>', " ", s)
        s = re.sub(r"(?s)<aside\b.*?</aside>", " ", s)
        out = html.unescape(re.sub(r"<[^>]+>", " ", s))
    return re.sub(r"\s+", " ", out).lower()


def type_ok(schema, value):
    t = schema["type"]
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
    verbose = "-v" in sys.argv
    pages = sorted(os.path.relpath(os.path.join(d, f), ROOT)
                   for d, _, fs in os.walk(ROOT) for f in fs if f.endswith((".html", ".pdf")))
    text = {p: main_text(p) for p in pages}
    questions = json.load(open(QUESTIONS, encoding="utf-8"))
    problems = []
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
        for field, schema in props.items():
            if not type_ok(schema, q["expected"][field]):
                problems.append("%s.%s: expected value does not fit the schema" % (qid, field))
            if schema["type"] in ("string", "array") and q["match"].get(field) not in ("exact", "contains"):
                problems.append("%s.%s: no match rule" % (qid, field))
        for src in q["source"]:
            if src not in text:
                problems.append("%s: no such page %s" % (qid, src))
                continue
            for field, evidence in q["evidence"].items():
                if not any(e.lower() in text[src] for e in evidence):
                    problems.append("%s.%s: none of %r in %s" % (qid, field, evidence, src))
        if verbose:
            for field, evidence in q["evidence"].items():
                others = [p for p in pages if p not in q["source"] and any(e.lower() in text[p] for e in evidence)]
                if others:
                    print("%s.%s %r also on: %s" % (qid, field, evidence, ", ".join(others)))
    for p in problems:
        print("PROBLEM", p)
    hard = sum(q["difficulty"] == "hard" for q in questions)
    print("%d questions (%d hard), %d pages, %d problems" % (len(questions), hard, len(pages), len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
