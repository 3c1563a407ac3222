#!/usr/bin/env python3
"""Build the container image's file tree from the Dockerfile, and run it.

There is no container engine on the test machine, so this reads the
Dockerfile and carries out its instructions on a directory:

  image.py build DOCKERFILE CONTEXT BINARY ROOT CONFIG_JSON [STAGE]
      Build the last stage (or STAGE, as `docker build --target`) into ROOT
      (which must not exist), with the stages it copies from, and write its ENV, WORKDIR and ENTRYPOINT to
      CONFIG_JSON. The Rust build is not run: `cargo build` places BINARY
      (the static musl build) where it would have written its output.
  image.py run ROOT CONFIG_JSON [-e NAME=VALUE]... -- ARGS...
      As `docker run`: an environment of the image's ENV plus the -e values
      only, chroot(2) into ROOT, cd to WORKDIR, exec ENTRYPOINT + ARGS.
      Needs root.

Every instruction of every stage is checked first, and one this script does
not know (a new instruction, a COPY option, a RUN command missing from
RUN_COMMANDS) is an error: a Dockerfile change must come with the matching
change here, never be skipped silently. Base images (alpine, rust) are not
fetched: a stage starts empty and holds only what its own RUN and COPY
instructions put in it, which is all a later `COPY --from` can see of it
here.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class Unknown(Exception):
    pass


def parse(path):
    """[(line_number, keyword, rest)], continuation lines joined."""
    instructions, pending, start = [], "", 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            if pending and stripped.startswith("#"):
                continue
            if not pending:
                start = n
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            text = pending + stripped
            pending = ""
            keyword, _, rest = text.partition(" ")
            instructions.append((start, keyword.upper(), rest.strip()))
    if pending:
        raise Unknown(f"line {start}: continuation at end of file")
    return instructions


def stages_of(instructions):
    """Global ARG defaults, and the stages: [{name, base, body}]."""
    global_args, stages = {}, []
    for n, keyword, rest in instructions:
        if keyword == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            if not m:
                raise Unknown(f"line {n}: FROM {rest!r} not understood")
            stages.append({"name": m.group(2) or str(len(stages)), "base": m.group(1), "body": []})
        elif not stages:
            if keyword != "ARG":
                raise Unknown(f"line {n}: {keyword} before the first FROM")
            name, _, default = rest.partition("=")
            global_args[name] = default
        else:
            stages[-1]["body"].append((n, keyword, rest))
    if not stages:
        raise Unknown("no FROM")
    return global_args, stages


# RUN commands (the parts of a RUN between `&&`) this script can carry out,
# and how. Keep in step with the Dockerfile: any other command is an error.
def run_apk_ca_certificates(stage, _m):
    put_file(stage, HOST_CA_BUNDLE, HOST_CA_BUNDLE)


def run_cargo_build(stage, _m):
    out = stage.path(os.path.join(stage.workdir, "target/release/amplify-deploy"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copy2(stage.binary, out)


def run_mkdir_p(stage, m):
    for path in shlex.split(m.group(1)):
        os.makedirs(stage.path(path), mode=0o755, exist_ok=True)


def run_cp(stage, m):
    src, dst = stage.path(m.group(1)), stage.path(m.group(2))
    if m.group(2).endswith("/"):
        dst = os.path.join(dst, os.path.basename(src))
    shutil.copy2(src, dst)


def run_chmod(stage, m):
    os.chmod(stage.path(m.group(2)), int(m.group(1), 8))


def run_version(stage, _m):
    subprocess.run([stage.path("/amplify-deploy"), "--version"], check=True, stdout=subprocess.DEVNULL)


RUN_COMMANDS = [
    (r"apk add --no-cache ca-certificates", run_apk_ca_certificates),
    # Build tools of the build stage, which is replaced by BINARY.
    (r"apk add --no-cache(?: (?:musl-dev|gcc|make|cmake|perl))+", lambda stage, m: None),
    (r"cargo build --release --locked --bin amplify-deploy", run_cargo_build),
    (r"mkdir -p ((?:\S+ ?)+)", run_mkdir_p),
    (r"cp (\S+) (\S+)", run_cp),
    (r"chmod ([0-7]{3,4}) (\S+)", run_chmod),
    (r"/amplify-deploy --version", run_version),
]


def run_command(text):
    for pattern, action in RUN_COMMANDS:
        m = re.fullmatch(pattern, text)
        if m:
            return action, m
    return None, None


def put_file(stage, src, dest):
    target = stage.path(dest)
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    shutil.copy2(src, target)


class Stage:
    def __init__(self, spec, root, binary, args):
        self.spec, self.root, self.binary = spec, root, binary
        self.args = dict(args)
        self.env, self.workdir, self.entrypoint = {}, "/", None

    def path(self, p):
        """p inside the stage's root; relative paths start at WORKDIR."""
        full = os.path.normpath(os.path.join(self.workdir, p))
        return os.path.join(self.root, full.lstrip("/"))

    def expand(self, text):
        values = {**self.args, **self.env}
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), ""), text)


def check(stages):
    """Refuse, up front, any instruction the builder below does not carry out."""
    for spec in stages:
        for n, keyword, rest in spec["body"]:
            if keyword == "RUN":
                for part in rest.split("&&"):
                    if run_command(part.strip())[0] is None:
                        raise Unknown(f"line {n}: RUN command {part.strip()!r} is not in tests/image/image.py's RUN_COMMANDS")
            elif keyword == "COPY":
                options = [w for w in rest.split() if w.startswith("--")]
                if any(not o.startswith("--from=") for o in options):
                    raise Unknown(f"line {n}: COPY option in {rest!r} not emulated")
            elif keyword == "ENTRYPOINT":
                if not rest.startswith("["):
                    raise Unknown(f"line {n}: only the exec form of ENTRYPOINT is emulated")
            elif keyword not in ("ARG", "ENV", "WORKDIR"):
                raise Unknown(f"line {n}: instruction {keyword} is not emulated by tests/image/image.py")


def build_stage(stages, index, root, binary, global_args, context, built):
    spec = stages[index]
    stage = Stage(spec, root, binary, global_args)
    os.makedirs(root, mode=0o755, exist_ok=True)
    for n, keyword, rest in spec["body"]:
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            stage.args[name] = default if default else stage.args.get(name, "")
        elif keyword == "ENV":
            name, _, value = rest.partition("=")
            stage.env[name] = stage.expand(value)
        elif keyword == "WORKDIR":
            stage.workdir = os.path.normpath(os.path.join(stage.workdir, stage.expand(rest)))
            os.makedirs(stage.path("."), mode=0o755, exist_ok=True)
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = json.loads(rest)
        elif keyword == "RUN":
            for part in rest.split("&&"):
                action, m = run_command(part.strip())
                action(stage, m)
        elif keyword == "COPY":
            words = [stage.expand(w) for w in rest.split()]
            source_root = context
            if words[0].startswith("--from="):
                name = words.pop(0)[len("--from=") :]
                source_root = built_stage(stages, name, binary, global_args, context, built).root
            *sources, dest = words
            for src in sources:
                copy(os.path.join(source_root, src.lstrip("/")), stage, dest, n)
    return stage


def built_stage(stages, name, binary, global_args, context, built):
    if name not in built:
        index = next((i for i, s in enumerate(stages) if s["name"] == name), None)
        if index is None:
            raise Unknown(f"COPY --from={name}: no such stage")
        root = tempfile.mkdtemp(prefix=f"stage-{name}-")
        built[name] = build_stage(stages, index, root, binary, global_args, context, built)
    return built[name]


def copy(src, stage, dest, n):
    """COPY's rules: a directory's contents (not the directory) are copied,
    modes kept; a file goes into DEST/ or becomes DEST."""
    target = stage.path(dest)
    if os.path.isdir(src):
        shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
    elif os.path.isfile(src):
        if dest.endswith("/") or os.path.isdir(target):
            target = os.path.join(target, os.path.basename(src))
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        shutil.copy2(src, target)
    else:
        raise Unknown(f"line {n}: COPY source {src} does not exist")


def build(dockerfile, context, binary, root, config, target=None):
    os.umask(0o022)
    global_args, stages = stages_of(parse(dockerfile))
    check(stages)
    if os.path.exists(root):
        raise Unknown(f"{root} exists already")
    index = len(stages) - 1
    if target is not None:
        index = next((i for i, s in enumerate(stages) if s["name"] == target), None)
        if index is None:
            raise Unknown(f"no stage named {target}")
    built = {}
    try:
        final = build_stage(stages, index, root, binary, global_args, context, built)
    finally:
        for stage in built.values():
            shutil.rmtree(stage.root, ignore_errors=True)
    if final.entrypoint is None:
        raise Unknown("the last stage has no ENTRYPOINT")
    with open(config, "w", encoding="utf-8") as f:
        json.dump({"env": final.env, "workdir": final.workdir, "entrypoint": final.entrypoint}, f, indent=1)


def run(root, config, argv):
    with open(config, encoding="utf-8") as f:
        image = json.load(f)
    env = dict(image["env"])
    while argv and argv[0] == "-e":
        name, _, value = argv[1].partition("=")
        env[name] = value
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    os.chroot(root)
    os.chdir(image["workdir"])
    command = image["entrypoint"] + argv
    os.execve(command[0], command, env)


def main(argv):
    if argv[1:2] == ["build"] and len(argv) in (7, 8):
        build(*argv[2:])
    elif argv[1:2] == ["run"] and len(argv) >= 4:
        run(argv[2], argv[3], argv[4:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Unknown as e:
        print(f"image.py: {e}", file=sys.stderr)
        sys.exit(3)
