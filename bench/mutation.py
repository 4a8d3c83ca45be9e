"""``python -m bench.mutation`` (``make mutate``): mutation testing of ``shared/domain`` with mutmut.

mutmut (configured in pyproject.toml) changes the domain one small edit at a time (``<`` for
``<=``, ``or`` for ``and``, a constant, a dropped statement) and runs the domain's fast unit
tests against each change; a change no test notices is a survivor. Each mutant runs in a
fresh worker. Mutants that timed out are run again once, alone: a timeout on a
busy machine is not a kill, and one that persists is reported, not counted as killed.

The score of a file is killed / (mutants - equivalent): ``bench/mutation_equivalent.toml``
lists the mutants that cannot change behaviour, each with its changed line and a reason; an
entry whose line no longer matches (the code moved) is ignored and reported. Results go to
``bench/mutation.json``; the exit status is 1 when a file is under the goal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "mutation.json"
EQUIVALENT = ROOT / "bench" / "mutation_equivalent.toml"
DOMAIN = ("alert_rules", "catalog", "evaluation", "membership", "provisioning", "spreadsheet")
GOAL = 0.90
# mutmut's exit codes per mutant (mutmut/stats.py).
KILLED = {1, 3}
TIMEOUT = {36, -24, 24, 152, 255}


def mutmut(*args: str) -> None:
    """Run mutmut; stop when it fails (e.g. its clean run of the tests is red): no score then."""
    if subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=ROOT, check=False).returncode != 0:
        sys.exit("mutmut failed (is the clean run of the domain tests green?): no score")


def exit_codes(module: str) -> dict[str, int | None]:
    meta = ROOT / "mutants" / "shared" / "domain" / f"{module}.py.meta"
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return codes


def changed_line(name: str) -> str:
    """The mutated line of a mutant (the first added line of its diff), stripped."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    added = [line[1:].strip() for line in out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return added[0] if added else "(the statement is removed)"


def equivalents() -> dict[str, dict[str, str]]:
    if not EQUIVALENT.exists():
        return {}
    return {e["mutant"]: e for e in tomllib.loads(EQUIVALENT.read_text())["equivalent"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(DOMAIN), help="domain modules (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1: the machine is shared)")
    parser.add_argument("--report-only", action="store_true", help="read the last run's results, run nothing")
    parser.add_argument("--sample", type=int, default=0, help="run N mutants per module drawn at random (seeded), not all")
    args = parser.parse_args()
    unknown = set(args.modules) - set(DOMAIN)
    if unknown:
        parser.error(f"not a domain module: {', '.join(sorted(unknown))}")

    if not args.report_only:
        print("== " + ", ".join(f"shared/domain/{m}.py" for m in args.modules), flush=True)
        names = [f"shared.domain.{m}.*" for m in args.modules]
        if args.sample:
            if not all(exit_codes(m) for m in args.modules):
                parser.error("--sample draws from generated mutants: run once without it (or on a smaller module) first")
            draw = random.Random(20)
            names = [n for m in args.modules for n in sorted(draw.sample(sorted(exit_codes(m)), min(args.sample, len(exit_codes(m)))))]
        mutmut("run", "--max-children", str(args.jobs), *names)
        timed_out = sorted(k for m in args.modules for k, v in exit_codes(m).items() if v in TIMEOUT)
        if timed_out:
            print(f"   {len(timed_out)} timed out: running them again, one at a time", flush=True)
            mutmut("run", "--max-children", "1", *timed_out)

    known = equivalents()
    files: dict[str, Any] = {}
    survivors: list[dict[str, str]] = []
    stale: list[str] = []
    for module in DOMAIN:
        codes = exit_codes(module)
        if not codes or all(code is None for code in codes.values()):
            continue  # not run (yet)
        equivalent = 0
        counts = {"mutants": len(codes), "killed": 0, "survived": 0, "noTests": 0, "timeout": 0, "notRun": 0}
        for name, code in sorted(codes.items()):
            if code in KILLED:
                counts["killed"] += 1
                continue
            if code is None:
                counts["notRun"] += 1
                continue
            line = changed_line(name)
            entry = known.get(name)
            if entry is not None and entry["line"] == line:
                equivalent += 1
                continue
            if entry is not None:
                stale.append(name)
            kind = "timeout" if code in TIMEOUT else "noTests" if code in (5, 33) else "survived"
            counts[kind] += 1
            survivors.append({"mutant": name, "status": kind, "line": line})
        counted = counts["mutants"] - equivalent - counts["notRun"]
        score = counts["killed"] / counted if counted else 1.0
        files[f"shared/domain/{module}.py"] = {
            **counts,
            "run": counts["mutants"] - counts["notRun"],
            "equivalent": equivalent,
            "score": round(score, 4),
        }

    if not files:
        print("no mutant has run: no score", file=sys.stderr)
        return 1
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    for f in files.values():
        f["commit"] = commit
    # A run of some modules keeps the others' last figures (each file says which commit it is of).
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for path, figures in previous.get("files", {}).items():
        if path not in files:
            files[path] = {**figures, "commit": figures.get("commit", previous.get("commit", ""))}
            survivors += [s for s in previous.get("survivors", []) if s["mutant"].startswith(path[:-3].replace("/", ".") + ".")]
    files = dict(sorted(files.items()))
    killed = sum(f["killed"] for f in files.values())
    counted = sum(f["mutants"] - f["equivalent"] - f["notRun"] for f in files.values())
    total = {
        "mutants": sum(f["mutants"] for f in files.values()),
        "killed": killed,
        "score": round(killed / counted, 4) if counted else 1.0,
    }
    results = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "tool": "mutmut " + _version(),
        "goal": GOAL,
        "files": files,
        "total": {
            "mutants": sum(f["mutants"] for f in files.values()),
            "killed": killed,
            "score": round(killed / counted, 4) if counted else 1.0,
        },
        "survivors": survivors,
        "staleEquivalents": stale,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'file':36} {'mutants':>8} {'run':>5} {'killed':>7} {'equiv.':>7} {'survived':>9} {'timeout':>8} {'score':>7}")
    for path, f in files.items():
        flag = "" if f["score"] >= GOAL else "  < goal"
        survived = f["survived"] + f["noTests"]
        print(
            f"{path:36} {f['mutants']:8} {f['run']:5} {f['killed']:7} {f['equivalent']:7} {survived:9} {f['timeout']:8} "
            f"{f['score']:7.1%}{flag}"
        )
    print(f"{'total':36} {total['mutants']:8} {'':5} {killed:7} {'':7} {'':9} {'':8} {total['score']:7.1%}")
    if survivors:
        print("\nsurvivors (`.venv/bin/mutmut show <name>` for the diff):")
        for s in survivors:
            print(f"  {s['mutant']} [{s['status']}]: {s['line']}")
    if stale:
        print("\nequivalent entries whose line changed (review them):", ", ".join(stale))
    print(f"\nresults: {RESULTS.relative_to(ROOT)}")
    return 0 if all(f["score"] >= GOAL for f in files.values()) else 1


def _version() -> str:
    from importlib.metadata import version

    return version("mutmut")


if __name__ == "__main__":
    sys.exit(main())
