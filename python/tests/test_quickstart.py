"""examples/quickstart.py runs as the README shows it, and the README shows that file."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_quickstart_runs(tmp_path):
    svg = tmp_path / "tree.svg"
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), str(svg)], capture_output=True,
                         text=True, check=True, env=dict(os.environ)).stdout
    assert "induced groups:" in out and "hierarchical accuracy" in out
    acc = float(out.split("hierarchical accuracy ")[1].split(",")[0])
    assert acc > 0.85
    assert "<svg" in svg.read_text()


def test_readme_shows_the_quickstart():
    readme = (ROOT / "README.md").read_text()
    code = (ROOT / "examples" / "quickstart.py").read_text()
    body = code.split('"""', 2)[2].strip()  # without the module docstring
    assert body in readme
