"""Runs trafilatura on HTML files and prints one JSON line per file and configuration.

Called by run.py and devset.py with the venv's interpreter:
    python trafilatura_runner.py REPS FILE...
    python trafilatura_runner.py REPS --manifest MANIFEST [--configs default,...]
(a manifest is JSON lines {"file", "url"}: each page is extracted with its URL, as
`trafilatura.extract(html, url=...)`).
Each line: {"file", "config", "text", "title", "date", "authors", "micros", "micros_all",
"cpu_micros"}; the metadata comes from `trafilatura.extract_metadata` (outside the timed
region; `authors` is its `author` split at "; "). `micros` is the
median wall time of trafilatura.extract() alone over REPS runs after one unmeasured warm-up
run (reading the file is outside the timed region; the HTML is passed as a str, as Parallax
gets it), `cpu_micros` the median CPU time of the thread over the same runs.
"""

import json
import sys
import time

import trafilatura

CONFIGS = {
    "default": {},
    "favor_precision": {"favor_precision": True},
    "favor_recall": {"favor_recall": True},
}


def pages(args):
    """(path, url) for each page the arguments name."""
    if args and args[0] == "--manifest":
        with open(args[1], encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    page = json.loads(line)
                    yield page["file"], page["url"]
    else:
        for path in args:
            yield path, None


def main() -> None:
    reps = int(sys.argv[1])
    args = sys.argv[2:]
    configs = CONFIGS
    if "--configs" in args:
        i = args.index("--configs")
        configs = {name: CONFIGS[name] for name in args[i + 1].split(",")}
        args = args[:i] + args[i + 2:]
    for path, url in pages(args):
        with open(path, "rb") as f:
            html = f.read().decode("utf-8", errors="replace")
        for name, extra in configs.items():
            kwargs = dict(
                url=url,
                output_format="txt",
                include_comments=False,
                include_tables=True,
                include_images=False,
                with_metadata=False,
                **extra,
            )
            text = trafilatura.extract(html, **kwargs) or ""
            meta = trafilatura.extract_metadata(html, default_url=url)
            times = []
            cpu = []
            for _ in range(max(reps, 1)):
                cpu_start = time.thread_time_ns()
                start = time.perf_counter_ns()
                trafilatura.extract(html, **kwargs)
                times.append((time.perf_counter_ns() - start) // 1000)
                cpu.append((time.thread_time_ns() - cpu_start) // 1000)
            times.sort()
            cpu.sort()
            print(
                json.dumps(
                    {
                        "file": path,
                        "config": name,
                        "text": text,
                        "title": meta.title if meta else None,
                        "date": meta.date if meta else None,
                        "authors": meta.author.split("; ") if meta and meta.author else [],
                        "micros": times[len(times) // 2],
                        "micros_all": times,
                        "cpu_micros": cpu[len(cpu) // 2],
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
