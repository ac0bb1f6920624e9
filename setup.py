"""The package's data beside its flat modules (metadata: setup.cfg).

The modules find their files next to themselves (``__file__``): the
console's ``templates/`` and ``static/``, ``gunicorn.conf.py`` (``gateway
serve``), the content policy's rules and model, and ``openapi.json``.
An editable install reads them from the checkout; a wheel (``pip install
.``, the production guide) copies them into site-packages beside the
modules, which setuptools' package data cannot do for top-level modules.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

FILES = ("gunicorn.conf.py", "content_rules.json", "content_model.json",
         "openapi.json")
TREES = ("templates", "static")


class BuildWithData(build_py):
    def run(self):
        super().run()
        for name in FILES:
            self.copy_file(name, os.path.join(self.build_lib, name))
        for tree in TREES:
            self.copy_tree(tree, os.path.join(self.build_lib, tree))


setup(cmdclass={"build_py": BuildWithData})
