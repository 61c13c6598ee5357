"""book.digest: one digest of the vae package keys both of the build's caches."""

from __future__ import annotations

import subprocess
import sys

from book.digest import NOT_TRAINING, package_digest


def test_the_training_digest_leaves_out_the_widgets_and_plots():
    assert package_digest(NOT_TRAINING) != package_digest()
    assert package_digest() == package_digest()  # stable


def test_the_command_line_digest_covers_the_package_and_the_named_files(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("torch==2.13.0\n")

    def digest() -> str:
        cmd = [sys.executable, "-m", "book.digest", str(req)]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()

    before = digest()
    req.write_text("torch==2.14.0\n")
    assert len(before) == 64 and digest() != before
