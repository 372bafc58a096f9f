"""Path checks with errors that name the missing path and, for shipped data, the package that provides it."""

from __future__ import annotations

from pathlib import Path


def require_path(path: str | Path, what: str, hint: str = "") -> Path:
    """``path`` if it exists, else FileNotFoundError naming it (``what``: e.g. "COCO captions json")."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}" + (f" ({hint})" if hint else ""))
    return path


def need_root(root: str | Path | None, loader: str, expected: str) -> Path:
    """Loaders of users' own data have no default location: ``root`` must be given."""
    if root is None:
        raise ValueError(f"evaluation set {loader!r} reads your own copy: pass its path as root ({expected})")
    return Path(root).expanduser()


def find_in(root: Path, names: tuple[str, ...], what: str) -> Path:
    """``root`` itself when it is a file, else the first of ``root/name`` that exists."""
    if root.is_file():
        return root
    require_path(root, what)
    for name in names:
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(f"{what} not found in {root}: looked for {', '.join(names)}")
