#!/usr/bin/env python3
"""Counts per class of the bad-input suites, run through any `tidewater` binary.

The cases are the ones of tests/bad_input.rs (render) and tests/bad_input_import.rs (import),
written to a directory by their `dump_cases_for_the_class_driver` tests
(TIDEWATER_BAD_INPUT_DUMP=DIR). Each case runs through each binary given (so an old build can be
compared with the current one) and its outcome is put in one class of issue 11:

  clear        non-zero exit and an error naming the file and the JSON path (import: an error or
               a warning naming them), or exit 0 without errors for a valid-but-odd input
  crash        killed by a signal (stack overflow, out-of-memory abort) or a panic
  hang         no answer within the timeout
  wrong place  an error, but none names the file and the path
  silent       exit 0 without an error or warning naming the file and path
  others lost  the error is clear but the good documents next to it were not rendered
  security     the output holds content read from outside the input (a file outside the module,
               /etc/passwd, a symlink target) or a Secrets Manager or SecureString dynamic
               reference as a literal value

Usage (from the repository root):
  hack/bad-input-classes.py --bin after=target/debug/tidewater [--bin before=/path/tidewater]
      [--dump DIR] [--timeout 20] [--details FILE]
Without --dump, the cases are dumped to a temporary directory with cargo first.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

CLASSES = ["clear", "crash", "hang", "wrong place", "silent", "others lost", "security"]
# Content of files outside the inputs, and secrets' dynamic references as literal values: none
# of it may reach the output.
FORBIDDEN = ["outside-secret", "image: secret", "root:x:0:0", "{{resolve:secretsmanager:",
             "{{resolve:ssm-secure:"]
MEMORY_LIMIT = 4 << 30


def dump(directory):
    env = dict(os.environ, TIDEWATER_BAD_INPUT_DUMP=str(directory))
    subprocess.run(
        ["cargo", "test", "-q", "--test", "bad_input", "--test", "bad_input_import",
         "dump_cases_for_the_class_driver"],
        env=env, check=True, stdout=subprocess.DEVNULL)


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(binary, args, stdin, timeout):
    """(exit code or -signal or None on timeout, stdout, stderr)."""
    try:
        p = subprocess.run([binary] + args, input=stdin or b"", capture_output=True,
                           timeout=timeout, preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        return None, "", ""
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def crashed(code, stderr):
    return code < 0 or code == 101 or any(
        s in stderr for s in ("panicked at", "stack overflow", "memory allocation of"))


def first_class(code, out, err):
    """The classes every suite shares, or None."""
    if code is None:
        return "hang"
    if crashed(code, err):
        return "crash"
    if any(f in out for f in FORBIDDEN):
        return "security"
    return None


def error_lines(stderr):
    """(file, path) of each `error: FILE: PATH: message` line."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("error: "):
            parts = line[len("error: "):].split(": ", 2)
            out.append((parts[0], parts[1] if len(parts) > 1 else ""))
    return out


def render_names(errors, case_dir, file, path, within):
    for f, p in errors:
        file_ok = f == file or f == str(case_dir / file) or f.endswith("/" + file)
        path_ok = p == path or (within and p not in (".", "spec", "") and (
            path.startswith(p + ".") or path.startswith(p + "[")))
        if file_ok and path_ok:
            return True
    return False


def classify_render(binary, root, meta_file, timeout):
    meta = json.loads(meta_file.read_text())
    case_dir = root / meta_file.stem
    args = ["render"] + [a.replace("{dir}", str(case_dir)) for a in meta["args"]]
    stdin_file = root / (meta_file.stem + ".stdin")
    stdin = stdin_file.read_bytes() if stdin_file.exists() else None
    code, out, err = run(binary, args, stdin, timeout)
    shared = first_class(code, out, err)
    if shared:
        return shared
    expect = meta["expect"]
    errors = error_lines(err)
    if expect["kind"] == "clean":
        return "clear" if code == 0 and not errors else "wrong place"
    if expect["kind"] == "warning":
        if code != 0 or errors:
            return "wrong place"
        warned = any(line.startswith("warning: ") and expect["path"] in line
                     for line in err.splitlines())
        return "clear" if warned else "silent"
    if code == 0:
        return "silent"
    if not render_names(errors, case_dir, expect["file"], expect["path"],
                        expect["kind"] == "within"):
        return "wrong place"
    objects = out.count("\nkind: ") + out.startswith("kind: ")
    if expect["kind"] == "error+objects" and objects == 0:
        return "others lost"
    return "clear"


def report_records(report, file="", refusal=False):
    """(file, text, refusal) of every object of the JSON report, with the nearest file above it;
    refusal: under `errors` or `skipped` (not a note on an imported resource)."""
    if isinstance(report, dict):
        own = report.get("file")
        if isinstance(report.get("source"), dict):
            own = report["source"].get("file", own)
        file = own if isinstance(own, str) else file
        yield file, json.dumps(report, ensure_ascii=False), refusal
        for k, v in report.items():
            yield from report_records(v, file, refusal or k in ("errors", "skipped"))
    elif isinstance(report, list):
        for v in report:
            yield from report_records(v, file, refusal)


def classify_import(binary, root, meta_file, timeout):
    meta = json.loads(meta_file.read_text())
    case_dir = root / meta["name"]
    inputs = [i if i.startswith("/") else str(case_dir / i) for i in meta["inputs"]]
    report_file = root.parent / f"report-{os.getpid()}.json"
    report_file.unlink(missing_ok=True)
    args = ["import", "--report", str(report_file), "-f"] + (inputs or [str(case_dir)])
    code, out, err = run(binary, args, None, timeout)
    shared = first_class(code, out, err)
    if shared:
        return shared
    expect = meta["expect"]
    records = [(line, line, line.startswith("error: ")) for line in err.splitlines()]
    if report_file.exists():
        try:
            records += list(report_records(json.loads(report_file.read_text())))
        except ValueError:
            pass
    # An error (or a skip) naming the file and the path, or a warning there saying what the
    # suite expects (a note about something else at a broad path does not count).
    if any(expect["file"] in f and expect["path"] in text
           and (refusal or expect["message"] in text) for f, text, refusal in records):
        return "clear"
    return "silent" if code == 0 else "wrong place"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", required=True, metavar="LABEL=PATH")
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--details", type=Path, help="write each case's class per binary (TSV)")
    ap.add_argument("--suite", choices=["render", "import"], help="run only this suite")
    a = ap.parse_args()
    binaries = [b.split("=", 1) for b in a.bin]
    if a.dump is None:
        a.dump = Path(tempfile.mkdtemp(prefix="tidewater-bad-input-classes-"))
    if not (a.dump / "render").exists():
        dump(a.dump)
    # A case is NAME.json next to its directory NAME/ (other files are what cases point at).
    def metas(suite):
        return sorted(m for m in (a.dump / suite).glob("*.json") if (m.parent / m.stem).is_dir())
    suites = [
        ("render", classify_render, metas("render")),
        ("import", classify_import, metas("import")),
    ]
    suites = [x for x in suites if a.suite in (None, x[0])]
    counts = {}
    details = []
    for suite, classify, metas in suites:
        for label, binary in binaries:
            for m in metas:
                c = classify(os.path.abspath(binary), m.parent, m, a.timeout)
                counts[(suite, label, c)] = counts.get((suite, label, c), 0) + 1
                details.append(f"{suite}\t{m.stem}\t{label}\t{c}")
                print(f"{suite} {m.stem} {label}: {c}", file=sys.stderr)
    if a.details:
        a.details.write_text("\n".join(details) + "\n")
    labels = [label for label, _ in binaries]
    for suite, _, metas in suites:
        print(f"\n{suite} ({len(metas)} cases)\n")
        print("| class | " + " | ".join(labels) + " |")
        print("|---|" + "---:|" * len(labels))
        for c in CLASSES:
            print(f"| {c} | " + " | ".join(str(counts.get((suite, l, c), 0)) for l in labels)
                  + " |")


if __name__ == "__main__":
    main()
