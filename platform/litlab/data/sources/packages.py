"""Where shipped data lives, and errors that say which package to install when it is not there.

Shipped sources read files that Debian or npm packages install. When a file is missing the error names the
package, the command that installs it and the path that was looked for (a source's ``input`` or an
evaluation set's ``root`` may point at another copy).
"""

from __future__ import annotations

from pathlib import Path


def apt_command(package: str) -> str:
    return f"apt-get install --no-install-recommends {package}"


def npm_command(package: str, version: str, prefix: Path) -> str:
    return f"npm install --no-save --prefix {prefix} {package}@{version}"


def missing_deb(package: str, looked_for: Path, detail: str = "") -> FileNotFoundError:
    """The error for data of Debian ``package`` that is not at ``looked_for``."""
    why = f"{detail}; " if detail else ""
    return FileNotFoundError(f"{package} not installed: {apt_command(package)} "
                             f"({why}looked for {looked_for})")


def require_deb(path: Path, package: str, *, is_dir: bool = False) -> Path:
    """``path`` if it exists (as a folder when ``is_dir``, else as a file), else ``missing_deb``."""
    found = path.is_dir() if is_dir else path.is_file()
    if not found:
        raise missing_deb(package, path)
    return path


def require_npm(path: Path, package: str, version: str, prefix: Path) -> Path:
    """``path`` if npm ``package`` is installed (under ``prefix`` or the given copy), else FileNotFoundError."""
    if not path.exists():
        raise FileNotFoundError(f"{package} not installed: {npm_command(package, version, prefix)} "
                                f"(looked for {path}; or run `make npm`)")
    return path
