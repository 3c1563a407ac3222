#!/usr/bin/env python3
"""Entry names as other zip readers see them.

Packages a multilingual tree with the real binary (`amplify-deploy package`)
and checks that Info-ZIP's `unzip -Z1` and Python's `zipfile` both list
exactly the names on disk: `:` kept, every script, emoji, and `é` composed
(NFC) and decomposed (NFD) as two different files. Python's `zipfile`
decodes a name as CP437 unless the entry's UTF-8 flag (bit 11) is set, and
ignores the Info-ZIP Unicode Path field, so it shows a missing flag.

Usage: tests/names.py [BINARY]   (default: $CARGO_TARGET_DIR or target,
then debug/amplify-deploy)
"""

import os
import subprocess
import sys
import tempfile
import zipfile

NAMES = [
    "index.html",
    "Catégorie:Histoire.html",
    "sub/é:index.html",
    "sub/index.html",
    "Wiki:Main Page",
    "العربية/صفحة.html",
    "हिन्दी/पृष्ठ.html",
    "中文/首页.html",
    "日本語.html",
    "한국어.html",
    "Русский.html",
    "עברית.html",
    "😀 👍🏽.html",
    "👨\u200d👩\u200d👧.txt",
    "caf\u00e9.html",  # NFC
    "cafe\u0301.html",  # NFD
    "a..b/..c.html",
    "~tilde/#hash%20 &.html",
    "photo.png",
]


def on_disk(root):
    names = []
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for f in files:
            names.append(f if rel == "." else "/".join(rel.split(os.sep) + [f]))
    return sorted(names, key=lambda n: n.encode())


def check(label, listed, expected):
    if listed != expected:
        print(f"error: {label} lists other names than the folder holds", file=sys.stderr)
        for name in sorted(set(listed) ^ set(expected)):
            where = "archive only" if name in listed else "disk only"
            print(f"  {where}: {name!r}", file=sys.stderr)
        if sorted(listed) == sorted(expected):
            print("  (same names, another order)", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {label} lists the {len(expected)} names on disk", flush=True)


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "debug", "amplify-deploy")
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "site")
        for name in NAMES:
            path = os.path.join(site, *name.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(name.encode() * 3)
        expected = on_disk(site)
        assert len(expected) == len(NAMES), "the file system merged two names"
        out = os.path.join(tmp, "site.zip")
        subprocess.run([binary, "package", "--path", site, "--output", out], check=True)

        with zipfile.ZipFile(out) as z:
            infos = z.infolist()
            check("Python's zipfile", [i.filename for i in infos], expected)
            unflagged = [i.filename for i in infos if not i.flag_bits & 0x800]
            if unflagged:
                print(f"error: entries without the UTF-8 flag: {unflagged!r}", file=sys.stderr)
                sys.exit(1)
            for info in infos:
                if z.read(info) != info.filename.encode() * 3:
                    print(f"error: {info.filename!r} holds other bytes", file=sys.stderr)
                    sys.exit(1)

        env = dict(os.environ, LC_ALL="C.UTF-8")
        listing = subprocess.run(["unzip", "-Z1", out], check=True, capture_output=True, env=env)
        check("unzip -Z1", listing.stdout.decode().splitlines(), expected)


if __name__ == "__main__":
    main()
