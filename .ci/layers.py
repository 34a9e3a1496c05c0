#!/usr/bin/env python3
"""Checks that the crates keep their shape: a module never names a module of a higher layer, and
modules import each other in a cycle only where the cycle is declared below.

A module's dependencies are the paths it names outside its test modules (`#[cfg(test)]` and
`#[cfg(all(test, ...))]` modules come last in a file and may use the public API of any layer):
`use` declarations (braces expanded) and inline paths that start with `crate::`, `super::` or
`self::`. Each path is resolved to the longest module of the crate it names.

Run from the repository root: `python3 .ci/layers.py`. Exits 1 with one line per violation.
"""

import re
import sys
from pathlib import Path

# Per crate: the source root, and its layers from the lowest up. A module belongs to the first
# layer with a prefix of its path; a module may name modules of its own layer and of lower ones.
CRATES = {
    "janitor": {
        "root": Path("crates/janitor/src"),
        "layers": [
            ["sync"],
            ["leak"],
            ["dispose"],
            ["handle"],
            ["gc::core"],
            ["gc::side"],
            ["gc::engine"],
            ["gc::face", "gc::unsync", "gc"],
            ["crate"],
        ],
        # Cycles allowed (sets of modules that may import each other). A guard is one use of its
        # handle: the handle hands guards out, and a guard ends its use on the handle.
        "cycles": [
            {"handle::guard", "handle::safe_handle"},
            # An object's vtable traces its value through `Trace`, and a `Tracer` visits objects
            # by their header: the layout and the tracing contract are one unit in two files.
            {"gc::core::object", "gc::core::trace"},
        ],
    },
    "janitor-di": {
        "root": Path("crates/janitor-di/src"),
        "layers": [
            ["vocabulary", "options", "error", "registry", "disposal", "stack", "validation"],
            ["provider", "scope", "resolve"],
            ["collection"],
            ["host"],
            ["crate"],
        ],
        # The provider hands out scopes, a scope resolves through the provider's registry and
        # keeps its provider alive, and both resolve through `Resolver`: one unit in three files.
        "cycles": [{"provider", "scope", "resolve"}],
    },
}

PATH = re.compile(r"\b(?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+")
TEST_MODULE = re.compile(r"^\s*#\[cfg\((?:all\()?test\b")


def modules(root):
    """Every module of a crate, as a tuple of path segments, with its file."""
    found = {}
    for file in root.rglob("*.rs"):
        relative = file.relative_to(root).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] in ("lib", "main"):
            parts = parts[:-1]
        elif parts[-1] == "mod":
            parts = parts[:-1]
        found[tuple(parts)] = file
    return found


def code_without_tests_and_comments(file):
    lines = []
    for line in file.read_text().splitlines():
        if TEST_MODULE.match(line):
            break
        lines.append(re.sub(r"//.*", "", line))
    return "\n".join(lines)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [tree.split(" as ")[0].strip()]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    items, depth, start = [], 0, 0
    for index, char in enumerate(inner):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(inner[start:index])
            start = index + 1
    items.append(inner[start:])
    paths = []
    for item in filter(str.strip, items):
        for path in expand_use(item):
            paths.append(prefix + path if path != "self" else prefix.rstrip(":"))
    return paths


def named_paths(code):
    paths = []
    for statement in re.finditer(r"\buse\s+([^;]+);", code):
        paths.extend(expand_use(statement.group(1)))
    paths.extend(PATH.findall(code))
    return paths


def resolve(path, module, known):
    """The module a path names, from inside `module`, or None (an external crate, a local item)."""
    segments = path.split("::")
    if segments[0] == "crate":
        base, rest = [], segments[1:]
    elif segments[0] in ("super", "self"):
        base = list(module)
        rest = segments
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    candidate = tuple(base + rest)
    while candidate and candidate not in known:
        candidate = candidate[:-1]
    return candidate


def layer_of(module, layers):
    name = "::".join(module) or "crate"
    for index, prefixes in enumerate(layers):
        for prefix in prefixes:
            if prefix == "crate" and name == "crate":
                return index
            if name == prefix or name.startswith(prefix + "::"):
                return index
    return len(layers)


def strongly_connected(graph):
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(component)

    sys.setrecursionlimit(10_000)
    for node in list(graph):
        if node not in index:
            visit(node)
    return result


def check(crate, config):
    known = modules(config["root"])
    problems, graph = [], {}
    for module, file in sorted(known.items()):
        code = code_without_tests_and_comments(file)
        own = layer_of(module, config["layers"])
        targets = set()
        for path in named_paths(code):
            target = resolve(path, module, known)
            if target is None or target == module or module[: len(target)] == target:
                continue
            targets.add(target)
            if layer_of(target, config["layers"]) > own:
                problems.append(
                    f"{crate}: {'::'.join(module) or 'crate'} ({file}) names the higher-layer "
                    f"module {'::'.join(target)} through `{path}`"
                )
        graph[module] = targets
    allowed = [{tuple(name.split("::")) for name in cycle} for cycle in config["cycles"]]
    for component in strongly_connected(graph):
        if not any(component <= cycle for cycle in allowed):
            names = ", ".join(sorted("::".join(member) for member in component))
            problems.append(f"{crate}: an import cycle that is not declared: {names}")
    return problems


def main():
    problems = []
    for crate, config in CRATES.items():
        problems.extend(check(crate, config))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} layering violation(s): see .ci/layers.py for the declared shape")
        sys.exit(1)
    print("layers: every module names only its own layer and lower ones; no undeclared cycle")


if __name__ == "__main__":
    main()
