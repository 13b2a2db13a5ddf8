"""The package as users get it: `pip install ./sdk/python` offline, Python 3.9 syntax only, and
`types.py` exactly what the generator makes of sdk/openapi.json."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
import unittest

import support

SDK = os.path.join(support.REPO, "sdk", "python")
SRC = os.path.join(SDK, "src", "airmy")
_installed = []


def installed_sdk() -> str:
    """`pip install --target <tmp> ./sdk/python` once per test process; returns the target."""
    if not _installed:
        target = tempfile.mkdtemp(prefix="airmy-sdk-py-install-")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                               "--target", target, SDK], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError("pip install failed:\n" + done.stdout + done.stderr)
        _installed.append(target)
    return _installed[0]


def sources():
    for folder, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


class PackageTest(unittest.TestCase):
    def test_pip_installs_offline_with_types(self) -> None:
        target = installed_sdk()
        self.assertTrue(os.path.isfile(os.path.join(target, "airmy", "py.typed")))
        probe = "import airmy, airmy.types as t; print(airmy.__version__, 'Run' in t.__all__, airmy.Airmy.__name__)"
        out = subprocess.run([sys.executable, "-X", "dev", "-c", probe], env={"PYTHONPATH": target},
                             capture_output=True, text=True, cwd=tempfile.gettempdir())
        self.assertEqual(out.stdout.split(), ["0.1.0", "True", "Airmy"], out.stderr)

    def test_sources_parse_as_python_3_9(self) -> None:
        for path in sources():
            with open(path, encoding="utf-8") as f:
                text = f.read()
            ast.parse(text, filename=path, feature_version=(3, 9))  # rejects match, except* …
            if text.strip() and not path.endswith("_version.py") and "__init__" not in path:
                self.assertIn("from __future__ import annotations", text, path)

    def test_types_are_what_the_generator_makes(self) -> None:
        with tempfile.NamedTemporaryFile("r", suffix=".py") as out:
            subprocess.run([sys.executable, os.path.join(SDK, "scripts", "generate_types.py"),
                            os.path.join(support.REPO, "sdk", "openapi.json"), out.name], check=True)
            generated = out.read()
        with open(os.path.join(SRC, "types.py"), encoding="utf-8") as f:
            self.assertEqual(f.read(), generated, "run sdk/python/generate.sh")

    def test_every_schema_has_a_typeddict(self) -> None:
        import json
        import typing

        import airmy.types as types

        with open(os.path.join(support.REPO, "sdk", "openapi.json"), encoding="utf-8") as f:
            schemas = json.load(f)["components"]["schemas"]
        for name in schemas:
            cls = getattr(types, name)
            self.assertTrue(typing.get_type_hints(cls), name)
        self.assertEqual(types.Run.__required_keys__ >= {"id", "status", "output"}, True)
        self.assertIn("for", typing.get_type_hints(types.Alert))


if __name__ == "__main__":
    unittest.main()
