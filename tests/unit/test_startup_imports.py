"""What a server loads to start: the libraries of rarely used answers (a settlement PDF, an HPP
QR code) load with the first such answer, not with the app, so a cold start stays short."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import kco_sandbox.platform
import kco_sandbox.web.app
print(sorted(name for name in ("fpdf", "segno") if name in sys.modules))
"""


def test_the_app_starts_without_the_pdf_and_qr_code_libraries() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
