import os
import tempfile
import unittest
from pathlib import Path

from benchkit.files import (Tree, check_tree, clear_directory, file_sizes, retire_directory, tree_differences, tree_paths,
                            warm_tree, write_tree)


class TreePathsTests(unittest.TestCase):
    def test_files_fill_the_directories_in_turn(self):
        self.assertEqual(tree_paths(5, 2), ["d000/f000000", "d000/f000001", "d000/f000002",
                                            "d001/f000003", "d001/f000004"])

    def test_every_directory_holds_ceil_count_over_directories_at_most(self):
        paths = tree_paths(5_000, 10)
        per_directory = {}
        for path in paths:
            per_directory[path.split("/")[0]] = per_directory.get(path.split("/")[0], 0) + 1
        self.assertEqual(per_directory, {f"d{i:03d}": 500 for i in range(10)})
        self.assertEqual(len(set(paths)), 5_000)
        self.assertEqual(sorted(paths), paths)

    def test_an_uneven_count_leaves_the_last_directory_short(self):
        counts = {}
        for path in tree_paths(1_001, 10):
            counts[path[:4]] = counts.get(path[:4], 0) + 1
        self.assertEqual(list(counts.values()), [101] * 9 + [92])

    def test_never_more_directories_than_files(self):
        self.assertEqual(tree_paths(3, 10), ["d000/f000000", "d001/f000001", "d002/f000002"])
        self.assertEqual(tree_paths(0, 10), [])

    def test_names_stay_sorted_at_100k_files(self):
        paths = tree_paths(100_000, 100)
        self.assertEqual((paths[0], paths[-1]), ("d000/f000000", "d099/f099999"))
        self.assertEqual(sorted(paths), paths)

    def test_no_directory_is_an_error(self):
        with self.assertRaises(ValueError):
            tree_paths(10, 0)


class TreeTests(unittest.TestCase):
    def test_figures_of_a_tree(self):
        tree = Tree(Path("/w/trees/tree-5000x4096"), 5_000, 4096, 10)
        self.assertEqual((tree.name, tree.bytes), ("tree-5000x4096", 20_480_000))
        expected = tree.expected()
        self.assertEqual(len(expected), 5_000)
        self.assertEqual(set(expected.values()), {4096})


class DifferencesTests(unittest.TestCase):
    def test_a_complete_copy_has_none(self):
        self.assertIsNone(tree_differences({"d000/a": 4, "d000/b": 4}, {"d000/b": 4, "d000/a": 4}))

    def test_missing_wrong_sized_and_unexpected_are_counted_and_named(self):
        expected = {f"d000/f{i}": 4096 for i in range(6)}
        found = {"d000/f0": 4096, "d000/f1": 100, "d000/f2": 4096, "d000/extra": 1}
        self.assertEqual(tree_differences(expected, found),
                         "3 missing (d000/f3, d000/f4, d000/f5); 1 of the wrong size (d000/f1 (100 B)); "
                         "1 unexpected (d000/extra)")

    def test_only_the_first_few_are_named(self):
        expected = {f"f{i}": 1 for i in range(10)}
        self.assertEqual(tree_differences(expected, {}, examples=2), "10 missing (f0, f1, …)")


class TreeOnDiskTests(unittest.TestCase):
    def test_write_warm_walk_and_check(self):
        with tempfile.TemporaryDirectory() as directory:
            tree = Tree(Path(directory) / "tree", 7, 3000, 3)
            write_tree(tree)
            warm_tree(tree)
            self.assertEqual(file_sizes(tree.root), tree.expected())
            contents = {(tree.root / p).read_bytes() for p in tree.paths()}
            self.assertEqual(len(contents), 7)  # every file its own random bytes
            check_tree(tree.root, tree, "test")
            (tree.root / "d001" / "f000003").write_bytes(b"short")
            os.symlink("d000", tree.root / "link")  # a link is neither walked nor counted as a file
            with self.assertRaisesRegex(RuntimeError, r"test left .* 1 of the wrong size \(d001/f000003 \(5 B\)\)$"):
                check_tree(tree.root, tree, "test")

    def test_a_missing_destination_holds_nothing(self):
        with tempfile.TemporaryDirectory() as directory:
            self.assertEqual(file_sizes(Path(directory) / "absent"), {})
            tree = Tree(Path(directory) / "tree", 2, 1, 1)
            with self.assertRaisesRegex(RuntimeError, r"2 missing \(d000/f000000, d000/f000001\)"):
                check_tree(Path(directory) / "absent", tree, "scp")


if __name__ == "__main__":
    unittest.main()


class RetireDirectoryTests(unittest.TestCase):
    def test_moves_everything_aside_keeping_each_run_apart_then_clear_deletes_it(self):
        with tempfile.TemporaryDirectory() as scratch:
            destination = Path(scratch) / "dest"
            for run in range(2):
                (destination / "tree" / "d").mkdir(parents=True)
                (destination / "tree" / "d" / "f").write_bytes(b"x" * (run + 1))
                (destination / "loose").write_bytes(b"y")
                retired = retire_directory(destination)
                self.assertEqual(list(destination.iterdir()), [])
            self.assertEqual(retired, Path(scratch) / ".retired-dest")
            names = [p.name for p in retired.iterdir()]
            self.assertEqual(sorted(name.split("-", 1)[1] for name in names), ["loose", "loose", "tree", "tree"])
            self.assertEqual(len(set(names)), 4, "no run's entries replaced another's")
            sizes = sorted((retired / name / "d" / "f").stat().st_size for name in os.listdir(retired) if name.endswith("tree"))
            self.assertEqual(sizes, [1, 2])
            clear_directory(retired)
            self.assertEqual(list(retired.iterdir()), [])
