"""The card under atheris (coverage-guided, libFuzzer) for a fixed number of runs, from
the seeds in ``card_seeds/`` (issue 9: "atheris where it installs"; R18, R19).

A crash (an exception, an answer without a status word, a private key's bytes in an
answer) makes libFuzzer exit non-zero and print the input that did it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
RUNS = 5_000


def test_the_card_survives_coverage_guided_fuzzing(tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("atheris is not installed (pyproject's test extra installs it)")
        pytest.skip("atheris does not install on this Python")
    corpus = tmp_path / "corpus"
    shutil.copytree(HERE / "card_seeds", corpus)
    fuzzed = subprocess.run(
        [sys.executable, str(HERE / "atheris_card.py"), f"-runs={RUNS}", "-seed=1",
         "-max_len=2048", f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert fuzzed.returncode == 0, fuzzed.stderr[-3000:]
    assert f"Done {RUNS} runs" in fuzzed.stderr
    assert not list(tmp_path.glob("crash-*"))
