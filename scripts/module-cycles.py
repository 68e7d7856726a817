#!/usr/bin/env python3
"""Lists the import edges between avatarcast's modules and fails on a cycle.

A module is a source file: src/a/b.rs is `a::b`, src/a/mod.rs is `a`. An edge
A -> B is any path in A (in a `use` or inline) that starts `crate::`, `super::` or
`self::` and names B or something inside B; the path is resolved to the deepest
module it names. Paths that name a parent module (`crate::speech::PhonemeSpan`
where PhonemeSpan lives in speech/mod.rs) count as an edge to the parent, so a
child that reaches back into its room's mod.rs while mod.rs re-exports the child
is a cycle too. Inline modules (`mod tests { use super::*; }`) belong to their file.

    python3 scripts/module-cycles.py            # exit 1 and the cycles, if any
    python3 scripts/module-cycles.py --edges    # every edge, then the check
    python3 scripts/module-cycles.py --into config   # who imports `config*`
    python3 scripts/module-cycles.py --src DIR       # another crate's src/
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(rel):
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments_and_strings(text):
    # Strings first (a "//" inside a string is not a comment), then line comments.
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)  # raw strings, roughly
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"'(?:\\.|[^'\\])'", "' '", text)  # char literals such as '"'
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*(?:.|\n)*?\*/", "", text)


def inline_super_to_self(text):
    """Inside an inline `mod x { ... }`, `super::` names the file's own module."""
    out, pos = [], 0
    for m in re.finditer(r"\bmod\s+\w+\s*\{", text):
        if m.start() < pos:
            continue  # nested inside one already rewritten
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(text)):
            depth += text[end] == "{"
            depth -= text[end] == "}"
            if depth == 0:
                break
        out.append(text[pos:m.start()])
        out.append(re.sub(r"\bsuper\s*::", "self::", text[m.start():end + 1]))
        pos = end + 1
    return "".join(out) + text[pos:]


def use_paths(tree, prefix=()):
    """Expands a use tree (`a::{b, c::{d, e}}`) into its full paths."""
    tree = tree.strip()
    if not tree:
        return []
    m = re.match(r"^((?:\w+\s*::\s*)*)\{(.*)\}$", tree, re.S)
    if m:
        head = tuple(p.strip() for p in m.group(1).split("::") if p.strip())
        out, depth, cur = [], 0, ""
        for ch in m.group(2):
            if ch == "," and depth == 0:
                out += use_paths(cur, prefix + head)
                cur = ""
                continue
            depth += ch == "{"
            depth -= ch == "}"
            cur += ch
        return out + use_paths(cur, prefix + head)
    path = re.split(r"\s+as\s+", tree)[0]
    return [prefix + tuple(p.strip() for p in path.split("::") if p.strip())]


def resolve(path, here, modules):
    """The module a path names, or None for std and other crates."""
    if not path:
        return None
    if here + (path[0],) in modules:
        path = ("self",) + tuple(path)  # `child::X`: a module declared here shadows a crate
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif path[0] in ("super", "self"):
        base, rest = here, path
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    best = base
    for i in range(1, len(rest) + 1):
        if base + tuple(rest[:i]) in modules:
            best = base + tuple(rest[:i])
    return best if best in modules else None


def edges(src):
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                path = os.path.join(root, n)
                rel = os.path.relpath(path, src)
                if rel == "main.rs" or rel.startswith("bin" + os.sep):
                    continue  # binaries are roots of their own crates
                files[module_of(rel)] = path
    modules = set(files)
    found = {}
    for mod, path in files.items():
        text = inline_super_to_self(strip_comments_and_strings(open(path, encoding="utf-8").read()))
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            paths += use_paths(m.group(1))
        text_no_use = re.sub(r"\buse\s+[^;]+;", "", text)
        for m in re.finditer(r"(?<![\w:])(\w+)(?:\s*::\s*\w+)+", text_no_use):
            head = m.group(1)
            if head in ("crate", "super", "self") or mod + (head,) in modules:
                paths.append(tuple(p.strip() for p in m.group(0).split("::")))
        for p in paths:
            target = resolve(p, mod, modules)
            if target is not None and target != mod:
                found.setdefault((mod, target), "::".join(p))
    return modules, found


def cycles(modules, found):
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {m: sorted(b for (a, b) in found if a == m) for m in modules}
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
    for m in sorted(modules):
        if m not in index:
            visit(m)
    return out


def name(m):
    return "::".join(m) or "crate"


def main():
    src = sys.argv[sys.argv.index("--src") + 1] if "--src" in sys.argv else SRC
    modules, found = edges(src)
    if "--edges" in sys.argv:
        for (a, b), p in sorted(found.items()):
            print(f"{name(a)} -> {name(b)}    ({p})")
    if "--into" in sys.argv:
        target = sys.argv[sys.argv.index("--into") + 1]
        for (a, b), p in sorted(found.items()):
            if name(b).startswith(target):
                print(f"{name(a)} -> {name(b)}    ({p})")
        return 0
    comps = cycles(modules, found)
    for comp in comps:
        inside = set(comp)
        print(f"cycle of {len(comp)} modules: {', '.join(name(m) for m in comp)}")
        for (a, b), p in sorted(found.items()):
            if a in inside and b in inside:
                print(f"    {name(a)} -> {name(b)}    ({p})")
    print(f"module-cycles: {len(modules)} modules, {len(found)} edges, {len(comps)} cycles")
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main())
