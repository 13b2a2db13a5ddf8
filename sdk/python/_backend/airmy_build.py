"""A minimal PEP 517 / PEP 660 build backend: standard library only.

It packs `src/airmy` into a wheel (plus metadata from pyproject.toml's fixed fields below) so
that `pip install ./sdk/python` works offline, without setuptools being fetched into pip's
isolated build environment. Editable installs (`pip install -e`) get a `.pth` pointing at `src`.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "src", "airmy")
NAME = "airmy"
TAG = "py3-none-any"


def _version() -> str:
    with open(os.path.join(PACKAGE, "_version.py"), encoding="utf-8") as f:
        match = re.search(r'__version__ = "([^"]+)"', f.read())
    assert match, "src/airmy/_version.py has no __version__"
    return match.group(1)


def _metadata() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
        "Summary: The official Python SDK for the AIRMY agent platform (standard library only)\n"
        "Requires-Python: >=3.9\nLicense: MIT\nClassifier: Typing :: Typed\n"
        "Description-Content-Type: text/markdown\n\n%s" % (NAME, _version(), readme)
    )


def _wheel_file() -> str:
    return "Wheel-Version: 1.0\nGenerator: airmy_build\nRoot-Is-Purelib: true\nTag: %s\n" % TAG


def _package_files() -> List[Tuple[str, str]]:
    files = []
    for folder, dirs, names in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".typed")):
                full = os.path.join(folder, name)
                files.append((full, os.path.relpath(full, os.path.dirname(PACKAGE)).replace(os.sep, "/")))
    return files


def _write_wheel(directory: str, entries: List[Tuple[str, bytes]]) -> str:
    version = _version()
    dist_info = "%s-%s.dist-info" % (NAME, version)
    entries = entries + [
        ("%s/METADATA" % dist_info, _metadata().encode("utf-8")),
        ("%s/WHEEL" % dist_info, _wheel_file().encode("utf-8")),
    ]
    record = []
    for arcname, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))
    record.append("%s/RECORD,," % dist_info)
    entries.append(("%s/RECORD" % dist_info, ("\n".join(record) + "\n").encode("utf-8")))
    filename = "%s-%s-%s.whl" % (NAME, version, TAG)
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for arcname, data in entries:
            whl.writestr(zipfile.ZipInfo(arcname, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return filename


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    entries = []
    for full, arcname in _package_files():
        with open(full, "rb") as f:
            entries.append((arcname, f.read()))
    return _write_wheel(wheel_directory, entries)


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    pth = (os.path.join(ROOT, "src") + "\n").encode("utf-8")
    return _write_wheel(wheel_directory, [("_airmy_editable.pth", pth)])


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    base = "%s-%s" % (NAME, _version())
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_backend/airmy_build.py"]:
            tar.add(os.path.join(ROOT, rel), arcname="%s/%s" % (base, rel))
        for full, arcname in _package_files():
            tar.add(full, arcname="%s/src/%s" % (base, arcname))
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = _metadata().encode("utf-8")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return filename
