#!/usr/bin/env bash
# Fails (exit 1, one file:line per hit) when non-test code of the filter crate (src/)
# calls .unwrap() / .expect( or panic!( / unreachable!( / todo!( / unimplemented!(.
# The .wasm is built with panic = "abort": any panic kills the VM and every request on
# its worker (SPEC §3, issue 8 item 5). clippy denies the same outside tests, but only
# for what a given clippy run compiles; this check reads every file, whatever the
# target or features. Usage: scripts/check-unwrap.sh [DIR] (default: src).
#
# Test code is skipped: files named tests.rs, src/testing.rs, every module declared as
# `#[cfg(test)] mod name;`, and every item under `#[cfg(test)]` (e.g. the
# `mod tests { ... }` block at the end of a file). Comments and string literals are
# blanked before matching, so prose and messages that mention unwrap do not count.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "${1:-src}" <<'PY'
import os
import re
import sys

root = sys.argv[1]
BANNED = re.compile(r"\.unwrap\(\)|\.expect\(|\b(?:panic|unreachable|todo|unimplemented)!\s*[\(\[\{]")
CFG_TEST = re.compile(r"#\[cfg\(\s*(?:all\(\s*)?test\b")
# What may precede the `r` of a raw string (`r"…"`, `br"…"`): not an identifier.
RAW_START = re.compile(r"(?:^|\W)b?$")
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")


def blank(src):
    """The source with comments and string/char literal contents replaced by spaces
    (newlines kept), so braces and patterns are only matched in code."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', src[i:]) and RAW_START.search(src[max(0, i - 2):i]):
            hashes = len(re.match(r"r(#*)", src[i:]).group(1))
            start = i + 2 + hashes
            end = src.find('"' + "#" * hashes, start)
            end = n if end < 0 else end + 1 + hashes
            out.append("r" + re.sub(r"[^\n]", " ", src[i + 1:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('"' + re.sub(r"[^\n]", " ", src[i + 1:j]) + '"')
            i = j + 1
        elif c == "'" and (src.startswith("\\", i + 1) or src.startswith("'", i + 2)):
            j = src.find("'", i + 2 if src[i + 1] != "\\" else i + 3)
            j = n if j < 0 else j
            out.append("'" + " " * (j - i - 1) + "'")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def scan(path, hits, test_files):
    with open(path, encoding="utf-8") as f:
        original = f.read().split("\n")
    code = blank("\n".join(original)).split("\n")
    here = os.path.dirname(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    # Where `mod name;` of this file lives: next to lib.rs/mod.rs, else in <stem>/.
    base = here if stem in ("lib", "mod", "main") else os.path.join(here, stem)
    # Skipping a `#[cfg(test)]` item: it ends at its `;` or `,` (a field, an argument)
    # outside brackets, or at the `}` closing its body once `opened`.
    skipping, opened, depth, parens, pending, path_attr = False, False, 0, 0, False, None

    def skip(text):
        nonlocal skipping, opened, depth, parens
        for ch in text:
            if ch in "([":
                parens += 1
            elif ch in ")]":
                parens -= 1
            elif ch == "{":
                opened, depth = True, depth + 1
            elif ch == "}":
                depth -= 1
                if not opened:  # the enclosing block closed: the item was its last part
                    skipping = False
                    return
            elif ch in ";," and not opened and parens <= 0:
                skipping = False
                return
            if opened and depth <= 0:
                skipping = False
                return

    for number, line in enumerate(code, 1):
        if skipping:
            skip(line)
            continue
        rest = line
        if CFG_TEST.search(line):
            pending = True
            rest = line[line.index("]") + 1:] if "]" in line else ""
        if pending:
            # `#[path = "…"]` (blanked string: read it from the original line).
            if re.search(r"#\[\s*path\s*=", rest):
                found = re.search(r'#\[\s*path\s*=\s*"([^"]*)"', original[number - 1])
                path_attr = os.path.join(here, found.group(1)) if found else None
            rest = re.sub(r"#\[[^\]]*\]", "", rest).strip()
            if not rest:
                continue
            pending = False
            decl = MOD_DECL.match(rest)
            if decl:
                name = decl.group(1)
                test_files.add(os.path.join(base, name + ".rs"))
                test_files.add(os.path.join(base, name, "mod.rs"))
                if path_attr:
                    test_files.add(os.path.normpath(path_attr))
                path_attr = None
                continue
            path_attr = None
            skipping, opened, depth, parens = True, False, 0, 0
            skip(rest)
            continue
        if BANNED.search(line):
            hits.append(f"{path}:{number}: {original[number - 1].strip()}")


files = []
for dirpath, _, names in os.walk(root):
    files += [os.path.join(dirpath, n) for n in names if n.endswith(".rs")]
files.sort()
hits, test_files = [], {os.path.join(root, "testing.rs")}
# Declarations first (lib.rs and mod.rs name the test-only modules), then the scan.
for path in files:
    scan(path, [], test_files)
checked = [p for p in files if os.path.basename(p) != "tests.rs" and p not in test_files]
for path in checked:
    scan(path, hits, set())
if hits:
    print("\n".join(hits))
    print(f"check-unwrap: {len(hits)} unwrap/expect/panic in non-test code of {root}/ "
          "(return an error instead: a panic aborts the VM)", file=sys.stderr)
    sys.exit(1)
print(f"check-unwrap: {len(checked)} files of {root}/, no unwrap/expect/panic outside tests")
PY
