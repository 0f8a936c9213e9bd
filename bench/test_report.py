"""Unit tests of bench.py's report (no Envoy, no wrk): the target verdicts and the
round-by-round ratios are computed from the right samples, and the memory table
carries Envoy's heap figures. Run by `make test` (target bench-test)."""

import datetime
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def sample(cpu_us, rps=None):
    """One timed cell as `measure` returns it."""
    return {"rps": rps or 1e6 / cpu_us, "p50": 200.0, "p99": 400.0, "cpu_us": cpu_us,
            "envoy_util": 0.97, "foreign": 0.01}


class ReportTests(unittest.TestCase):
    def setUp(self):
        bench.ARTIFACTS["jwt-gate"] = (900_000, "a" * 64)
        bench.ARTIFACTS["empty"] = (75_000, "b" * 64)
        # Rounds in measurement order. jwt_authn drifts up over the run and jwt-gate down:
        # round by round the ratio is 0.82, 1.00, 1.22 (medians 20 and 20: 1.00), while
        # pairing the two cells' samples in any other order (sorted, say: all 1.00) would not.
        self.samples = {
            ("b", "HS256", "single"): [sample(15.0), sample(15.0), sample(15.0)],
            ("c", "HS256", "pool"): [sample(18.0), sample(20.0), sample(22.0)],
            ("e", "HS256", "pool"): [sample(22.0), sample(20.0), sample(18.0)],
            ("d", "HS256", "single"): [sample(15.0), sample(16.0), sample(17.0)],
            ("e", "HS256", "single"): [sample(17.0), sample(17.0), sample(17.0)],
        }
        names = {cell: f"{cell[0]}-{cell[1]}" for cell in self.samples}
        memory = {name: (80 << 20, 90 << 20, 95 << 20) for name in names.values()}
        heap = {"e-HS256": (15 << 20, 28 << 20), "b-HS256": None}
        self.report = bench.Report(self.samples, {c: [0, 0] for c in self.samples}, memory, names,
                                   datetime.datetime(2026, 11, 24, 3, 0), 60.0, 0, None, heap)

    def test_round_ratios_pair_each_round_with_its_reference(self):
        ratios = self.report.round_ratios(("e", "HS256", "pool"), "c")
        self.assertEqual([round(r, 2) for r in ratios], [0.82, 1.00, 1.22])

    def test_the_verdict_uses_the_median_and_quotes_the_spread(self):
        targets = {name: (measured, met) for name, measured, met in self.report.targets()}
        measured, met = targets["HS256 verification path ≥ 1.0× jwt_authn"]
        self.assertTrue(met)
        self.assertIn("1.00× by CPU/req (20.0 vs 20.0 µs)", measured)
        self.assertIn("round by round 0.82–1.22×", measured)
        measured, met = targets["HS256 cache path ≥ 0.95× jwt_authn+cache"]
        self.assertFalse(met)  # 16 / 17 = 0.94
        self.assertIn("round by round 0.88–1.00×", measured)

    def test_a_single_round_has_no_spread(self):
        one = {cell: ss[:1] for cell, ss in self.samples.items()}
        report = bench.Report(one, {c: [0, 0] for c in one}, self.report.memory, self.report.envoy_names,
                              self.report.started_at, 1.0, 0)
        self.assertEqual(report.round_ratios(("e", "HS256", "pool"), "c"), [])
        measured = dict((n, m) for n, m, _ in report.targets())["HS256 verification path ≥ 1.0× jwt_authn"]
        self.assertNotIn("round by round", measured)

    def test_memory_table_has_the_heap_figures_and_blanks_when_unknown(self):
        text = self.report.markdown()
        self.assertIn("| e-HS256 | 80.0 | 90.0 | 95.0 | 15.0 | 28.0 |", text)
        self.assertIn("| b-HS256 | 80.0 | 90.0 | 95.0 |  |  |", text)
        raw = self.report.raw()["memory"]
        self.assertEqual(raw["e-HS256"]["heap_in_use"], 15 << 20)
        self.assertIsNone(raw["b-HS256"]["heap_kept_free"])


class SourceTreeTests(unittest.TestCase):
    """The report's header says the artifact has uncommitted changes only when a file
    that goes into the .wasm differs from the commit (the soak once said so for a
    changed test)."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        for path in ("src/lib.rs", "crypto/src/lib.rs", "bench/bench.py", "README.md"):
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_text("// v1\n")
        git = ["git", "-C", str(self.root), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "v1"], check=True)
        self.saved_root, bench.ROOT = bench.ROOT, self.root

    def tearDown(self):
        bench.ROOT = self.saved_root
        self.dir.cleanup()

    def test_changes_outside_the_build_inputs_do_not_mark_the_artifact(self):
        (self.root / "bench/bench.py").write_text("// v2\n")
        (self.root / "README.md").write_text("v2\n")
        (self.root / "notes.txt").write_text("new\n")
        self.assertRegex(bench.source_tree(), r"^work tree at commit [0-9a-f]{7,}$")

    def test_changed_and_new_build_inputs_are_named(self):
        (self.root / "src/lib.rs").write_text("// v2\n")
        (self.root / "crypto/src/new.rs").write_text("// new\n")
        self.assertTrue(bench.source_tree().endswith(", with uncommitted changes to crypto, src"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
