#!/usr/bin/env python3
"""Check bench/findall/queries.json against the corpus bench/findall/web/.

Verifies, and exits 1 listing every problem otherwise:
- ids unique; every query's world is a folder of the corpus, and every world has a query;
- 2-4 match conditions per query, with unique names;
- every gold url names a page of the corpus (a folder URL names its index.html);
- every gold entity has evidence for exactly its query's conditions, each a non-empty list, and
  for every condition some page of its world has, in its main text (<main> without nav, aside,
  footer, scripts, comments), both one of the evidence strings and the entity's name or an alias;
- every gold name occurs in the main text of some page of its world;
- negatives are not gold (by normalised name), fail a condition of their query, and are named on
  some page of their world;
- the sitemap lists every page of the corpus exactly once, and nothing else.
Prints the split (worlds, queries, pages and gold entities per part); with --set dev2 (the
dev-only corpus dev2/web, dev2/queries.json) every world is dev.

    python3 bench/findall/check.py [--set default|dev2] [--queries FILE] [--web DIR]
"""
import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def check(queries, web, split=True):
    """The problems found; `split` False when every world is dev (the dev2 set)."""
    problems = []
    texts = common.Texts(web)
    all_pages = common.pages(web)
    all_worlds = common.worlds(web)
    by_world = collections.defaultdict(list)
    for rel in all_pages:
        by_world[rel.split("/", 1)[0]].append(rel)

    def pages_with(world, needles):
        needles = [common.norm(n) for n in needles]
        return [r for r in by_world[world] if (texts.text(r) or "") and any(n in texts.text(r) for n in needles)]

    ids = [q.get("id") for q in queries]
    for d in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append("duplicate query id %s" % d)
    for q in queries:
        qid, world = q.get("id", "?"), q.get("world")
        if world not in all_worlds:
            problems.append("%s: world %r is not a folder of %s" % (qid, world, web))
            continue
        conds = [c.get("name") for c in q.get("match_conditions", [])]
        if not 2 <= len(conds) <= 4:
            problems.append("%s: %d match conditions (2-4 wanted)" % (qid, len(conds)))
        if len(set(conds)) != len(conds) or not all(conds):
            problems.append("%s: condition names must be unique and non-empty" % qid)
        for k in ("objective", "entity_type"):
            if not q.get(k):
                problems.append("%s: no %s" % (qid, k))
        gold_names = set()
        for g in q.get("gold", []):
            name = g.get("name", "?")
            names = [name] + list(g.get("aliases", []))
            gold_names.update(common.norm_name(n) for n in names)
            if g.get("url") is not None:
                if not g["url"].startswith(world + "/"):
                    problems.append("%s/%s: url %s is outside its world" % (qid, name, g["url"]))
                if common.norm_rel(g["url"]) not in {common.norm_rel(p) for p in all_pages}:
                    problems.append("%s/%s: url %s is not a page of the corpus" % (qid, name, g["url"]))
            if not pages_with(world, names):
                problems.append("%s/%s: no page of %s names it in its main text" % (qid, name, world))
            ev = g.get("evidence", {})
            if sorted(ev) != sorted(conds):
                problems.append("%s/%s: evidence keys %s != conditions %s" % (qid, name, sorted(ev), sorted(conds)))
            for c in conds:
                strings = ev.get(c) or []
                if not strings:
                    problems.append("%s/%s: no evidence for %s" % (qid, name, c))
                    continue
                for s in strings:
                    if not pages_with(world, [s]):
                        problems.append("%s/%s/%s: evidence %r is in no page of %s" % (qid, name, c, s, world))
                both = [r for r in pages_with(world, strings) if r in pages_with(world, names)]
                if not both:
                    problems.append("%s/%s/%s: no page states both the entity's name and the evidence" % (qid, name, c))
        for n in q.get("negatives", []):
            if common.norm_name(n.get("name")) in gold_names:
                problems.append("%s: negative %s is gold" % (qid, n.get("name")))
            if n.get("fails") not in conds:
                problems.append("%s: negative %s fails %r, not a condition" % (qid, n.get("name"), n.get("fails")))
            if not pages_with(world, [n.get("name", "")]):
                problems.append("%s: negative %s is named on no page of %s" % (qid, n.get("name"), world))
    for w in all_worlds:
        if not any(q.get("world") == w for q in queries):
            problems.append("world %s has no query" % w)
    locs = common.sitemap_locs(web)
    listed = collections.Counter(common.norm_rel(x) for x in locs)
    for p in all_pages:
        if listed[common.norm_rel(p)] != 1:
            problems.append("sitemap lists %s %d times" % (p, listed[common.norm_rel(p)]))
    known = {common.norm_rel(p) for p in all_pages}
    for x in locs:
        if common.norm_rel(x) not in known:
            problems.append("sitemap lists %s, which is not a page" % x)

    held = common.held_out_worlds(all_worlds) if split else set()
    for part in ("dev", "held-out") if split else ("dev",):
        ws = [w for w in all_worlds if (w in held) == (part == "held-out")]
        qs = [q for q in queries if q.get("world") in ws]
        print("%-8s %2d worlds, %2d queries (%d with an empty answer), %2d pages, %2d gold entities" % (
            part, len(ws), len(qs), sum(1 for q in qs if not q.get("gold")),
            sum(len(by_world[w]) for w in ws), sum(len(q.get("gold", [])) for q in qs)))
    print("dev worlds: " + ", ".join(w for w in all_worlds if w not in held))
    if not split:
        print("no held-out part: every world of this set is dev")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=sorted(common.SETS), default="default",
                    help="default: web/ and queries.json (dev and held-out); dev2: dev2/web and dev2/queries.json, all dev")
    ap.add_argument("--queries", help="default: the set's queries.json")
    ap.add_argument("--web", help="default: the set's web/")
    a = ap.parse_args()
    cfg = common.SETS[a.set]
    problems = check(common.load_queries(a.queries or cfg["queries"]), a.web or cfg["web"], split=cfg["split"])
    for p in problems:
        print("PROBLEM: " + p)
    print("%d problem(s)" % len(problems) if problems else "OK: queries and corpus agree")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
