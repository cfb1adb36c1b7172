#!/usr/bin/env python3
"""No circles between the source files of a crate (docs/ARCHITECTURE.md, "Invariants").

A file depends on another when it names an item through it: `use crate::a::b::C`,
`crate::a::f(...)`, `super::x::Y` — resolved to the deepest module file the path reaches
(`a/b.rs` or `a/b/mod.rs`). A path that stops at a folder's `mod.rs` or at `lib.rs` depends on
that file only for the names it declares itself; a name it re-exports (`pub use x::Y`) is
followed to the file that defines it. `mod` declarations are not dependencies. Prints each
circle (a strongly connected component of two or more files) and exits 1 when there is one.

    python3 scripts/check-file-circles.py        # from anywhere in the repository
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH = re.compile(rf"\b(crate|super|self)((?:::{IDENT})+)")
USE_GROUP = re.compile(rf"\buse\s+(crate|super|self)((?:::{IDENT})*)::\{{([^;]*)\}}\s*;", re.S)
REEXPORT = re.compile(rf"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", re.S)
COMMENT = re.compile(r"//[^\n]*")


def module_files(src: pathlib.Path) -> dict:
    """Module path (tuple) -> file, for one crate's `src`."""
    files = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = rel.parts
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts in (("lib",), ("main",)):
            parts = ()
        files[parts] = f
    return files


def own_module(files: dict, f: pathlib.Path) -> tuple:
    return next(m for m, g in files.items() if g == f)


def split_group(text: str) -> list:
    """`a, b::{c, d}, e as f` -> ["a", "b::c", "b::d", "e"] (one level of nesting)."""
    items, depth, cur = [], 0, ""
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        m = re.match(rf"({IDENT}(?:::{IDENT})*)::\{{(.*)\}}$", item, re.S)
        if m:
            out += [f"{m.group(1)}::{sub}" for sub in split_group(m.group(2))]
        else:
            out.append(item.split(" as ")[0].strip())
    return out


class Crate:
    def __init__(self, src: pathlib.Path):
        self.files = module_files(src)
        self.text = {f: COMMENT.sub("", f.read_text()) for f in self.files.values()}

    def base(self, kind: str, here: tuple) -> tuple:
        return () if kind == "crate" else here[:-1] if kind == "super" else here

    def reexport(self, module: tuple, name: str, depth: int):
        """The file a module's `pub use` of `name` leads to, if it re-exports it."""
        if depth > 8:
            return None
        for m in REEXPORT.finditer(self.text[self.files[module]]):
            body = m.group(1).strip()
            g = re.match(rf"((?:{IDENT}::)*){IDENT}?::?\{{(.*)\}}$", body, re.S) if "{" in body else None
            paths = [f"{g.group(1)}{p}" for p in split_group(g.group(2))] if g else [body.split(" as ")[0].strip()]
            for p in paths:
                segs = [s for s in p.split("::") if s]
                if segs and segs[-1] == name:
                    kind = segs[0] if segs[0] in ("crate", "super", "self") else "self"
                    rest = segs[1:] if segs[0] in ("crate", "super", "self") else segs
                    return self.resolve(kind, rest, module, depth + 1)
        return None

    def resolve(self, kind: str, segs: list, here: tuple, depth: int = 0):
        module = self.base(kind, here)
        i = 0
        while i < len(segs) and module + (segs[i],) in self.files:
            module += (segs[i],)
            i += 1
        if i < len(segs):
            # A name declared in, or re-exported by, `module`.
            target = self.reexport(module, segs[i], depth)
            if target is not None:
                return target
        return self.files.get(module)

    def edges(self) -> dict:
        graph = {f: set() for f in self.files.values()}
        for here, f in self.files.items():
            text = self.text[f]
            refs = []
            for m in USE_GROUP.finditer(text):
                prefix = [s for s in m.group(2).split("::") if s]
                for item in split_group(m.group(3)):
                    refs.append((m.group(1), prefix + [s for s in item.split("::") if s and s != "self"]))
            for m in PATH.finditer(USE_GROUP.sub("", text)):
                refs.append((m.group(1), [s for s in m.group(2).split("::") if s]))
            for kind, segs in refs:
                target = self.resolve(kind, segs, here)
                if target is not None and target != f:
                    graph[f].add(target)
        return graph


def circles(graph: dict) -> list:
    """Strongly connected components of two or more files (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main() -> int:
    found = 0
    crates = sorted(p for p in (ROOT / "crates").glob("*/src") if p.is_dir())
    for src in crates:
        crate = Crate(src)
        graph = crate.edges()
        for comp in circles(graph):
            found += 1
            names = [str(f.relative_to(ROOT)) for f in comp]
            print(f"circle between {len(names)} files:")
            for f in comp:
                into = sorted(str(g.relative_to(ROOT)) for g in graph[f] if g in comp)
                print(f"  {f.relative_to(ROOT)} -> {', '.join(into)}")
    files = sum(len(module_files(src)) for src in crates)
    if found:
        print(f"{found} circle(s) between files")
        return 1
    print(f"file circles: none in {len(crates)} crates ({files} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
