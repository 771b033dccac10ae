"""What the bench reads from the tools' output, each a function of the text: openssl s_time and speed, `ferry upload
--json` (and the bytes it sent again), `ferry loadtest --json`, ferryd's "upload resumed" log lines, df,
/proc/cpuinfo, and the group names in the Swift source. A text not in the expected form raises (RuntimeError with the
text, or the ValueError, KeyError or IndexError of the parse)."""
from __future__ import annotations

import json
import re


def upload_report(stdout: str) -> dict:
    """`ferry upload --json`'s document ({"ok", "bytes", "seconds", "files": [{…, "rotations"}]}); raises unless
    ok."""
    report = json.loads(stdout)
    if not report.get("ok"):
        raise RuntimeError(f"ferry upload reported failures: {stdout}")
    return report


def loadtest_report(stdout: str) -> dict:
    """`ferry loadtest --json`'s document (schema: Sources/Client/LoadTest/LoadReport.swift); raises on any error."""
    report = json.loads(stdout)
    if report["errors"]["total"]:
        raise RuntimeError(f"ferry loadtest had errors: {report['errors']}")
    return report


def s_time_connections(stdout: str) -> int:
    """The connections `openssl s_time` made, from its "N connections in S real seconds" line."""
    match = re.search(r"(\d+) connections in (\d+) real seconds", stdout)
    if not match:
        raise RuntimeError(f"unexpected s_time output:\n{stdout}")
    return int(match.group(1))


def speed_kilobytes_per_second(stdout: str) -> float:
    """The rate of `openssl speed -bytes N` (one block size): the last figure of its last line, in 1000s of bytes."""
    last = [line for line in stdout.splitlines() if line.strip()][-1]
    return float(last.split()[-1].rstrip("k"))


def df_filesystem(stdout: str) -> tuple[str, str, str]:
    """(type, source, mount point) from `df --output=fstype,source,target PATH`."""
    df = stdout.splitlines()[1].split()
    return df[0], df[1], df[2]


def cpu_model(cpuinfo: str) -> str:
    """The first "model name" of /proc/cpuinfo, "?" without one."""
    return next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")


def key_exchange_group_names(algorithms_swift: str) -> list[str]:
    """The names in KeyExchangeGroup's `var name` switch of Sources/Protocol/Wire/Algorithms.swift, in source order."""
    block = algorithms_swift[algorithms_swift.index("enum KeyExchangeGroup"):]
    block = block[block.index("var name"):block.index("}\n    }")]
    return re.findall(r'case \.\w+: "([^"]+)"', block)


def bytes_sent_again(report: dict) -> int:
    """Bytes `ferry upload --json` sent more than once: per file, Data bytes sent over all attempts (`sent_bytes`)
    minus the file's size (`bytes`). 0 for an upload that was never interrupted."""
    return sum(f["sent_bytes"] - f["bytes"] for f in report["files"])


def resume_offsets(log_text: str) -> list[int]:
    """The offset of each `msg="upload resumed"` line of a ferryd log (logfmt, ferryd's default format), in order."""
    offsets = []
    for line in log_text.splitlines():
        if 'msg="upload resumed"' in line:
            match = re.search(r"(?:^|\s)offset=(\d+)(?:\s|$)", line)
            if not match:
                raise RuntimeError(f"an 'upload resumed' line without an offset: {line}")
            offsets.append(int(match.group(1)))
    return offsets
