#!/usr/bin/env python3
"""The public API of each library crate, one item per line, into `docs/public-api/CRATE.txt`.

Reads rustdoc's JSON (nightly's `--output-format json`), walks each crate from its root through
public modules and public re-exports, and lists every public item a user can name by path —
modules, types, traits, functions, constants, statics, macros — with its kind; a re-export of
another crate's item is listed with where it comes from. Members (methods, fields, variants)
are not listed: they change with their type and show in its documentation. The listing is
committed so that a change to what a crate exposes shows in review.

    python3 scripts/public-api.py              # regenerate every listing (needs `rustup` nightly)
    python3 scripts/public-api.py --count      # also print the counts per crate
"""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CRATES = [
    "srlm", "srlm-data", "srlm-dpo", "srlm-eval", "srlm-fs", "srlm-generation", "srlm-judge",
    "srlm-loop", "srlm-model", "srlm-verifiable",
]
TARGET = ROOT / "target" / "public-api"
KINDS = {
    "module", "struct", "enum", "union", "trait", "trait_alias", "function", "constant",
    "static", "type_alias", "macro", "proc_macro",
}


def rustdoc_json(crate: str) -> dict:
    subprocess.run(
        ["cargo", "+nightly", "rustdoc", "--quiet", "-p", crate, "--lib",
         "--target-dir", str(TARGET), "--", "-Z", "unstable-options",
         "--output-format", "json"],
        cwd=ROOT, check=True,
    )
    name = crate.replace("-", "_")
    return json.loads((TARGET / "doc" / f"{name}.json").read_text())


def kind_of(item: dict) -> str:
    return next(iter(item["inner"])) if isinstance(item["inner"], dict) else item["inner"]


def walk(doc: dict) -> list:
    index, paths = doc["index"], doc["paths"]
    lines, seen = [], set()

    def visit(item_id, path: str, depth: int):
        if depth > 16:
            return
        item = index.get(str(item_id))
        if item is None:
            return
        kind = kind_of(item)
        if kind == "use":
            use = item["inner"]["use"]
            target = use.get("id")
            if use.get("is_glob"):
                inner = index.get(str(target)) if target is not None else None
                if inner is not None and kind_of(inner) == "module":
                    for child in inner["inner"]["module"]["items"]:
                        if index.get(str(child), {}).get("visibility") == "public":
                            visit(child, path, depth + 1)
                return
            full = f"{path}::{use['name']}"
            if target is not None and str(target) in index:
                visit_named(target, full, depth + 1)
            else:
                lines.append(f"{full}  (re-export of {use['source']})")
            return
        if item.get("name") is None:
            return
        visit_named(item_id, f"{path}::{item['name']}", depth)

    def visit_named(item_id, full: str, depth: int):
        item = index[str(item_id)]
        kind = kind_of(item)
        if kind == "use":
            visit(item_id, full.rsplit("::", 1)[0], depth + 1)
            return
        if kind not in KINDS or (full, kind) in seen:
            return
        seen.add((full, kind))
        lines.append(f"{full}  {kind}")
        if kind == "module":
            for child in item["inner"]["module"]["items"]:
                if index.get(str(child), {}).get("visibility") == "public":
                    visit(child, full, depth + 1)

    root = index[str(doc["root"])]
    crate = root["name"]
    for child in root["inner"]["module"]["items"]:
        if index.get(str(child), {}).get("visibility") == "public":
            visit(child, crate, 0)
    return sorted(set(lines))


def main() -> int:
    out = ROOT / "docs" / "public-api"
    out.mkdir(parents=True, exist_ok=True)
    for crate in CRATES:
        lines = walk(rustdoc_json(crate))
        (out / f"{crate}.txt").write_text("\n".join(lines) + "\n")
        if "--count" in sys.argv:
            print(f"{crate}: {len(lines)} public items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
