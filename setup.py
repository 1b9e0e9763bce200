"""The one build step pyproject.toml cannot declare: ship the repository's data folders inside the wheel.

``profiles/`` (catalogue, value sets, routing, terminology, SLOs) and ``load/locustfile.py`` live at the
repository root, where their authors edit them; setuptools only packages files found under a package folder,
so the wheel gets a copy under ``conformance/_data/``, where :func:`conformance.resources.data_root` looks.
Everything else (metadata, packages, entry points) is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = {"profiles": "**/*", "load": "locustfile.py"}  # folder at the root -> glob of the files to ship


class BuildPyWithData(build_py):
    """``build_py`` plus the copy of :data:`DATA` into ``conformance/_data/`` of the build folder."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        target = Path(self.build_lib, "conformance", "_data")
        for folder, pattern in DATA.items():
            for source in sorted((ROOT / folder).glob(pattern)):
                if source.is_file() and "__pycache__" not in source.parts:
                    destination = target / folder / source.relative_to(ROOT / folder)
                    self.mkpath(str(destination.parent))
                    self.copy_file(str(source), str(destination))


setup(cmdclass={"build_py": BuildPyWithData})
