#!/usr/bin/env python3
"""Check the n-questions of bench/eval/questions.json against the evaluation corpus bench/eval/web/.

For every question with an id starting with "n": ids unique, schema/expected/evidence/shapes name
the same fields, every `source` page lies in one world folder of bench/eval/web/, every evidence
string occurs (case-insensitive, whitespace collapsed) in the main text of every source page (the
<main> element without <script>, <style>, <aside>, <nav>, <footer> and elements whose class
contains "comment"), no-answer fields have expected null and no evidence. Also checks that
sitemap.xml lists exactly the corpus pages. Prints counts per world and per shape tag.

    python3 bench/eval/check_new.py
"""
import collections
import html
import json
import os
import re
import sys
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(HERE, "web")
QUESTIONS = os.path.join(HERE, "questions.json")
TAGS = {"table", "infobox", "list", "prose-date", "meta-date", "number-unit", "thousands", "superseded",
        "near-name", "two-hop", "no-answer", "boilerplate", "name", "enum", "boolean"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIP = {"script", "style", "aside", "nav", "footer"}


class Main(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, skipping)
        self.in_main = 0
        self.out = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        cls = dict(attrs).get("class") or ""
        skip = tag in SKIP or "comment" in cls
        self.stack.append((tag, skip))
        if tag == "main":
            self.in_main += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t == "main":
                self.in_main -= 1
            if t == tag:
                break

    def handle_data(self, data):
        if self.in_main and not any(s for _, s in self.stack):
            self.out.append(data)
        self.out.append(" ") if self.in_main else None


def main_text(path):
    p = Main()
    p.feed(open(path, encoding="utf-8").read())
    return re.sub(r"\s+", " ", " ".join(p.out)).strip().lower()


def norm(s):
    return re.sub(r"\s+", " ", s).strip().lower()


def main():
    pages = sorted(os.path.relpath(os.path.join(d, f), WEB) for d, _, fs in os.walk(WEB) for f in fs if f.endswith(".html"))
    text = {p: main_text(os.path.join(WEB, p)) for p in pages}
    qs = [q for q in json.load(open(QUESTIONS, encoding="utf-8")) if q["id"].startswith("n")]
    problems = []
    ids = collections.Counter(q["id"] for q in json.load(open(QUESTIONS, encoding="utf-8")))
    problems += ["duplicate id %s" % i for i, n in ids.items() if n > 1]
    per_world = collections.defaultdict(lambda: [0, 0, 0])
    per_shape = collections.Counter()
    shape_worlds = collections.defaultdict(set)
    fields = noans = 0
    for q in qs:
        qid = q["id"]
        props = q["output_schema"]["properties"]
        if not (set(props) == set(q["expected"]) == set(q["evidence"]) == set(q["shapes"]) == set(q["output_schema"]["required"])):
            problems.append("%s: schema, required, expected, evidence and shapes disagree" % qid)
            continue
        if not 1 <= len(props) <= 6:
            problems.append("%s: %d properties" % (qid, len(props)))
        worlds = {s.split("/")[0] for s in q["source"]}
        if len(worlds) != 1:
            problems.append("%s: sources span worlds %s" % (qid, worlds))
        world = sorted(worlds)[0]
        per_world[world][0] += 1
        for name, schema in props.items():
            fields += 1
            per_world[world][1] += 1
            exp, ev, tags = q["expected"][name], q["evidence"][name], q["shapes"][name]
            for t in tags:
                per_shape[t] += 1
                shape_worlds[t].add(world)
                if t not in TAGS:
                    problems.append("%s.%s: unknown tag %s" % (qid, name, t))
            if exp is None:
                noans += 1
                per_world[world][2] += 1
                if ev or "no-answer" not in tags:
                    problems.append("%s.%s: null expected needs no evidence and the no-answer tag" % (qid, name))
                continue
            if "no-answer" in tags or not ev:
                problems.append("%s.%s: answered field tagged no-answer or without evidence" % (qid, name))
            t = schema["type"]
            ok = {"integer": isinstance(exp, int) and not isinstance(exp, bool),
                  "number": isinstance(exp, (int, float)) and not isinstance(exp, bool),
                  "boolean": isinstance(exp, bool),
                  "array": isinstance(exp, list) and all(isinstance(x, str) for x in exp),
                  "string": isinstance(exp, str)}[t]
            if ok and "enum" in schema:
                ok = exp in schema["enum"]
            desc = schema["description"]
            if ok and t == "string" and "(YYYY-MM-DD)" in desc:
                ok = re.fullmatch(r"\d{4}-\d{2}-\d{2}", exp) is not None
            if ok and t == "string" and "(YYYY-MM)" in desc:
                ok = re.fullmatch(r"\d{4}-\d{2}", exp) is not None
            if not ok:
                problems.append("%s.%s: expected value does not fit the schema" % (qid, name))
            if t in ("string", "array") and q["match"].get(name) not in ("exact", "contains"):
                problems.append("%s.%s: no match rule" % (qid, name))
            for src in q["source"]:
                if src not in text:
                    problems.append("%s: no such page %s" % (qid, src))
                    continue
                if not any(norm(e) in text[src] for e in ev):
                    problems.append("%s.%s: none of %r in %s" % (qid, name, ev, src))
                vals = exp if isinstance(exp, list) else [exp] if isinstance(exp, str) and "YYYY" not in desc and "enum" not in schema else []
                for v in vals:
                    if norm(v) not in text[src]:
                        problems.append("%s.%s: value %r not literally in %s" % (qid, name, v, src))
    sm = open(os.path.join(WEB, "sitemap.xml"), encoding="utf-8").read()
    locs = set(re.findall(r"<loc>http://FIXTURE_HOST/([^<]+)</loc>", sm))
    if locs != set(pages):
        problems.append("sitemap differs from pages: %s" % sorted(locs ^ set(pages)))
    for p in problems:
        print("PROBLEM", p)
    print("%d pages in %d worlds; %d questions, %d fields, %d no-answer fields; %d problems"
          % (len(pages), len({p.split('/')[0] for p in pages}), len(qs), fields, noans, len(problems)))
    for w in sorted(per_world):
        n = sum(1 for p in pages if p.startswith(w + "/"))
        print("  %-26s pages %d  questions %d  fields %d  no-answer %d" % (w, n, *per_world[w]))
    for t in sorted(TAGS):
        print("  %-12s %3d fields in %2d worlds" % (t, per_shape[t], len(shape_worlds[t])))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
