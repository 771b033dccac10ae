"""The command line and the run: arguments, root, file limit and signals; the packages and the release build; the
sections in order, each failure recorded and the others still run; everything stopped and removed at the end; then the
JSON file and the table."""
from __future__ import annotations

import argparse
import datetime
import os
import resource
import signal
import traceback
from pathlib import Path

from .bench import Bench
from .host import build_ferry, ensure_packages
from .progress import log
from .provenance import ferry_commit, machine_description, tool_versions
from .report import print_table, write_json
from .sections import SECTIONS
from .tools import has_loadtest


def parse_arguments(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """`description`: scripts/bench's docstring, whose first paragraph heads --help."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (at least 3 for a median; default 3)")
    parser.add_argument("--sections", default="1,2,3,4,5,6,7,8,9,10",
                        help="comma-separated: 1,2,3,4,5,6,7,8,9,10 (5 = 5a and 5b)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (256 MiB, 16 × 64 MiB, 1,000 idle sessions, 3 s handshake phases; section "
                             "8: 500 × 4 KiB, 50 × 1 MiB, scaling at 1,000, 2,000 and 4,000 files; section 9: 5,000 entries; section 10: 256 MiB)")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"), help="default ./bench-results.json")
    parser.add_argument("--ext4-dir", default="/var/tmp", help="an ext4 directory for the ext4 runs (default /var/tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args(argv)
    wanted = []
    for item in args.sections.split(","):
        item = item.strip()
        expanded = ["5a", "5b"] if item == "5" else [item]
        if any(name not in SECTIONS for name in expanded):
            parser.error(f"unknown section {item!r} (1, 2, 3, 4, 5, 5a, 5b, 6, 7, 8, 9, 10)")
        wanted += [name for name in expanded if name not in wanted]
    args.sections = wanted
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.json = args.json.resolve()
    return args


def raise_file_limit() -> None:
    """10,000 idle sessions need as many descriptors in ferryd and in ferry loadtest (both inherit this limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(65536, soft), max(65536, hard)))
    except (ValueError, OSError) as error:  # raising the hard limit needs CAP_SYS_RESOURCE
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        log(f"RLIMIT_NOFILE: cannot raise the hard limit to 65536 ({error}); using {hard}")
    log(f"RLIMIT_NOFILE (soft, hard) = {resource.getrlimit(resource.RLIMIT_NOFILE)}")


def terminate_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def main(description: str) -> int:
    args = parse_arguments(description)
    if os.geteuid() != 0:
        raise SystemExit("scripts/bench needs root (apt-get, /run/sshd, nice -20, file limits)")
    if args.runs < 3:
        log(f"warning: --runs {args.runs}: fewer than 3 runs is no median")
    signal.signal(signal.SIGTERM, terminate_on_signal)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # under nohup a hangup must not end the run
        signal.signal(signal.SIGHUP, terminate_on_signal)
    bench = Bench(args)
    header = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine_description(), "ferry": ferry_commit()}
    try:
        ensure_packages(["openssh-server", "openssl", "rsync", "time"])
        bench.bin = build_ferry()
        header["tools"] = tool_versions()
        os.setpriority(os.PRIO_PROCESS, 0, -20)  # after the build: only the measurements run at nice -20
        raise_file_limit()
        bench.setup()
        loadtest = has_loadtest(bench)
        for name in args.sections:
            function, needs_loadtest = SECTIONS[name]
            if needs_loadtest and not loadtest:
                bench.errors[name] = "skipped: this ferry has no `loadtest` command (merge branch loadtest)"
                log(f"section {name} {bench.errors[name]}")
                continue
            log(f"== section {name}: {function.__doc__.splitlines()[0]}")
            try:
                function(bench)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as error:
                bench.errors[name] = f"{type(error).__name__}: {error}"
                log(f"section {name} failed:\n{traceback.format_exc()}")
    finally:
        bench.cleanup()
        header.setdefault("tools", {"openssh": "?", "openssl": "?", "rsync": "?"})
        header["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        if bench.rows or bench.errors:
            write_json(bench, header, args.json)
    print_table(bench, header)
    return 1 if any(not e.startswith("skipped") for e in bench.errors.values()) else 0


def run(description: str) -> int:
    """main, with Ctrl-C as exit status 130: everything was stopped and removed on the way out (main's finally)."""
    try:
        return main(description)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
