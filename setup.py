"""The one build step pyproject.toml cannot declare: the package ships the physics page, whose
only copy in the repository is docs/physics.md (the site's page), copied in at build time."""

import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

PAGE = pathlib.Path(__file__).resolve().parent / "docs" / "physics.md"


class BuildWithPhysicsPage(build_py):
    """`build_py`, then docs/physics.md as the package data file `thermo_ode/physics.md`."""

    def run(self) -> None:
        super().run()
        target = pathlib.Path(self.build_lib) / "thermo_ode" / "physics.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PAGE, target)


setup(cmdclass={"build_py": BuildWithPhysicsPage})
