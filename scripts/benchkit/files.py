"""The files the bench moves: random payloads and trees of small files, read once into the page cache, destinations
emptied between runs, and a stored tree checked against its source."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

from .units import MiB


def write_random_file(path: Path, size: int) -> None:
    """size bytes of incompressible data: AES-CTR keystream from openssl (GB/s; /dev/urandom is ~100 MB/s here)."""
    key = os.urandom(32).hex()
    generator = subprocess.Popen(["openssl", "enc", "-aes-256-ctr", "-nosalt", "-pass", f"pass:{key}", "-in",
                                  "/dev/zero"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with open(path, "wb") as out:
            remaining = size
            while remaining:
                chunk = generator.stdout.read(min(remaining, 8 * MiB))
                out.write(chunk)
                remaining -= len(chunk)
    finally:
        generator.kill()
        generator.wait()


def warm(path: Path) -> None:
    """Reads the file once so that it sits in the page cache."""
    with open(path, "rb") as f:
        while f.read(16 * MiB):
            pass


def clear_directory(path: Path) -> None:
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def retire_directory(path: Path) -> Path:
    """Empties `path` by moving what it holds aside, into `.retired-<name>` beside it (same file system: renames
    only), for `clear_directory` of that to delete later. ext4 without a journal (this VM's root) skips, when it
    allocates an inode, every inode freed in the last 30 s (fs/ext4/ialloc.c, recently_deleted): a tree deleted just
    before a run made the next tool's every create scan past it (first runs were up to 4x faster than the next)."""
    retired = path.parent / f".retired-{path.name}"
    retired.mkdir(exist_ok=True)
    for entry in path.iterdir():
        entry.rename(retired / f"{len(list(retired.iterdir()))}-{entry.name}")
    return retired


@dataclasses.dataclass(frozen=True)
class Tree:
    """`count` files of `size` random bytes under `root`, spread over `directories` subdirectories (tree_paths). Every
    tool uploads `root` itself, so each stores the tree under a directory of root's name."""
    root: Path
    count: int
    size: int
    directories: int

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def bytes(self) -> int:
        return self.count * self.size

    def paths(self) -> list[str]:
        return tree_paths(self.count, self.directories)

    def expected(self) -> dict[str, int]:
        """Relative path -> size of every file, what a complete copy holds."""
        return dict.fromkeys(self.paths(), self.size)


def tree_paths(count: int, directories: int) -> list[str]:
    """The relative paths of a tree of `count` files: d000/f000000, d000/f000001, … in `directories` subdirectories
    (never more than there are files), filled in turn with ceil(count / directories) files each, so that no directory
    is much larger than another. The file number runs across the whole tree: every name is unique, and sorting the
    paths gives this order."""
    if count < 0 or directories < 1:
        raise ValueError(f"a tree of {count} files in {directories} directories")
    per_directory = -(-count // directories) if count else 1
    return [f"d{i // per_directory:03d}/f{i:06d}" for i in range(count)]


def write_tree(tree: Tree) -> None:
    """Creates the tree's files, each with its own random bytes (os.urandom: different content in every file, as a real
    tree has; nothing is compressed on the way anyway). os.open/os.write rather than a process per file: a few hundred
    thousand files take seconds."""
    made: set[str] = set()
    for relative in tree.paths():
        directory = relative.split("/", 1)[0]
        if directory not in made:
            (tree.root / directory).mkdir(parents=True, exist_ok=True)
            made.add(directory)
        fd = os.open(tree.root / relative, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            data = memoryview(os.urandom(tree.size))
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)


def warm_tree(tree: Tree) -> None:
    """Reads every file of the tree once, so that its data and inodes sit in the page cache (and its directories in
    the dentry cache) before a run."""
    for relative in tree.paths():
        fd = os.open(tree.root / relative, os.O_RDONLY | os.O_CLOEXEC)
        try:
            while os.read(fd, MiB):
                pass
        finally:
            os.close(fd)


def file_sizes(root: Path) -> dict[str, int]:
    """Relative path -> size of every regular file under root (an empty dict when root does not exist)."""
    found: dict[str, int] = {}
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), f"{prefix}{entry.name}/"))
            elif entry.is_file(follow_symlinks=False):
                found[prefix + entry.name] = entry.stat(follow_symlinks=False).st_size
    return found


def tree_differences(expected: dict[str, int], found: dict[str, int], examples: int = 3) -> str | None:
    """What a stored copy lacks against the source (relative path -> size on both sides): None when every file is there
    with its size and nothing else is; otherwise a sentence that counts the missing, wrong-sized and unexpected files
    and names the first few of each."""
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    wrong = sorted(p for p in expected.keys() & found.keys() if expected[p] != found[p])
    parts = []
    for paths, what in ((missing, "missing"), (wrong, "of the wrong size"), (unexpected, "unexpected")):
        if paths:
            named = ", ".join(f"{p} ({found[p]} B)" if what == "of the wrong size" else p for p in paths[:examples])
            parts.append(f"{len(paths)} {what} ({named}{', …' if len(paths) > examples else ''})")
    return "; ".join(parts) or None


def check_tree(stored: Path, tree: Tree, tool: str) -> None:
    """Raises unless `stored` holds exactly the tree's files, each of the tree's size: the cheap check (names and
    sizes) that a tool stored every file."""
    differences = tree_differences(tree.expected(), file_sizes(stored))
    if differences:
        raise RuntimeError(f"{tool} left {stored} incomplete against {tree.root}: {differences}")
