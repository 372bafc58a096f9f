"""Few-shot linear probe on frozen image embeddings (the ViT / LiT papers' few-shot evaluation).

Per shot count and random draw: take ``shots`` training examples per class, fit closed-form ridge regression
onto one-vs-all +-1 targets (+1 for the true class, -1 otherwise) with an unpenalised bias (features and
targets are centred on the draw), and score top-1 on the test embeddings. The ridge strength is chosen from
a grid on a validation split drawn from the *rest of the training set* (never the test set), then the
probe is refit on the draw with that strength. Results are averaged over draws; the std is over draws
(ddof=0). All solves run in float64 through one eigendecomposition per draw, in the primal form
(X^T X, D x D) when n >= d, else the dual/kernel form (X X^T, n x n), so the whole lambda grid is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

DEFAULT_LAMBDAS: tuple[float, ...] = tuple(float(2.0**e) for e in range(-10, 11, 2))
Form = Literal["auto", "primal", "dual"]
Array = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class Ridge:
    """A ridge fit, spectrally factored: W(lam) = proj @ (coef / (eig + lam)), bias = ymean - xmean @ W."""

    xmean: np.ndarray  # (D,)
    ymean: np.ndarray  # (C,)
    proj: np.ndarray  # (D, R) feature -> spectral coordinates
    eig: np.ndarray  # (R,) eigenvalues of X^T X (primal) or X X^T (dual), X centred
    coef: np.ndarray  # (R, C)

    def weights(self, lam: float) -> tuple[np.ndarray, np.ndarray]:
        """(W (D, C), b (C,)) minimising ||X W + b - Y||^2 + lam ||W||^2."""
        w = self.proj @ (self.coef / (self.eig + lam)[:, None])  # (D, C)
        return w, self.ymean - self.xmean @ w

    def scores(self, x: np.ndarray, lams: Sequence[float]) -> np.ndarray:
        """(L, M, C) predictions for x (M, D) at every lambda, without forming each W."""
        z = (x - self.xmean) @ self.proj  # (M, R)
        return np.stack([(z / (self.eig + lam)) @ self.coef for lam in lams]) + self.ymean  # (L, M, C)


def as_np(a: Array, dtype: type | None = None) -> np.ndarray:
    """A numpy view/copy of a numpy array or (any-device) torch tensor."""
    return np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype)


def fit_ridge(x: Array, y: Array, form: Form = "auto") -> Ridge:
    """Factor ridge regression of targets y (n, C) on features x (n, D); ``auto`` picks dual when n < D."""
    x, y = as_np(x, np.float64), as_np(y, np.float64)
    xmean, ymean = x.mean(0), y.mean(0)
    xc, yc = x - xmean, y - ymean  # (n, D), (n, C)
    if form == "auto":
        form = "dual" if x.shape[0] < x.shape[1] else "primal"
    if form == "primal":
        eig, vec = np.linalg.eigh(xc.T @ xc)  # (D,), (D, D)
        proj, coef = vec, vec.T @ (xc.T @ yc)  # (D, D), (D, C)
    elif form == "dual":
        eig, vec = np.linalg.eigh(xc @ xc.T)  # (n,), (n, n)
        proj, coef = xc.T @ vec, vec.T @ yc  # (D, n), (n, C)
    else:
        raise ValueError(f"unknown ridge form {form!r}; valid: auto, dual, primal")
    return Ridge(xmean, ymean, proj, np.clip(eig, 0.0, None), coef)


def onehot_pm1(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(n, C) one-vs-all targets: +1 at the true class, -1 elsewhere."""
    return np.where(labels[:, None] == classes[None, :], 1.0, -1.0)


def draw_split(labels: np.ndarray, classes: np.ndarray, shots: int, val_per_class: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``shots`` per class for fitting, and up to ``val_per_class`` others per class for lambda."""
    fit, val = [], []
    for c in classes:
        idx = rng.permutation(np.flatnonzero(labels == c))
        fit.append(idx[:shots])
        val.append(idx[shots:shots + val_per_class])
    return np.concatenate(fit), np.concatenate(val)


def check_counts(labels: np.ndarray, classes: np.ndarray, shots: int) -> None:
    counts = {int(c): int((labels == c).sum()) for c in classes}
    short = {c: n for c, n in counts.items() if n < shots}
    if short:
        listed = ", ".join(f"class {c} has {n}" for c, n in list(short.items())[:10])
        raise ValueError(f"{shots}-shot probe needs {shots} training examples per class; {listed}")
    if all(n == shots for n in counts.values()):
        raise ValueError(f"{shots}-shot probe: no training examples left beyond the shots to choose lambda on")


def select_lambda(ridge: Ridge, xval: np.ndarray, yval: np.ndarray, classes: np.ndarray,
                  lams: Sequence[float]) -> float:
    """The lambda with the best validation top-1; ties go to the largest (most regularised) lambda."""
    pred = classes[ridge.scores(xval, lams).argmax(-1)]  # (L, V)
    acc = (pred == yval[None, :]).mean(1)  # (L,)
    best = np.flatnonzero(acc == acc.max())
    return float(np.asarray(lams)[best].max())


def probe_once(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray, classes: np.ndarray,
               shots: int, rng: np.random.Generator, lams: Sequence[float], val_per_class: int) -> tuple[float, float]:
    """(test top-1, chosen lambda) for one random few-shot draw."""
    fit, val = draw_split(ytr, classes, shots, val_per_class, rng)
    ridge = fit_ridge(xtr[fit], onehot_pm1(ytr[fit], classes))
    lam = select_lambda(ridge, xtr[val], ytr[val], classes, lams)
    w, b = ridge.weights(lam)  # (D, C), (C,)
    pred = classes[(xte @ w + b).argmax(1)]  # (M,)
    return float((pred == yte).mean()), lam


def fewshot_probe(train_emb: Array, train_labels: Array, test_emb: Array, test_labels: Array,
                  shots: Sequence[int] = (1, 5, 10, 25), draws: int = 5, seed: int = 0,
                  lambdas: Sequence[float] = DEFAULT_LAMBDAS, val_per_class: int = 10) -> dict[str, float]:
    """Keys ``{n}shot/top1`` (mean over draws), ``{n}shot/top1_std`` and ``{n}shot/lambda`` (median chosen)."""
    xtr, xte = as_np(train_emb, np.float64), as_np(test_emb, np.float64)  # (N, D), (M, D)
    ytr, yte = as_np(train_labels), as_np(test_labels)  # (N,), (M,)
    classes = np.unique(ytr)  # (C,)
    for n in shots:
        check_counts(ytr, classes, n)
    out: dict[str, float] = {}
    for n in shots:
        runs = [probe_once(xtr, ytr, xte, yte, classes, n, np.random.default_rng([seed, n, d]), lambdas,
                           val_per_class) for d in range(draws)]
        acc, lam = np.array(runs).T  # (draws,), (draws,)
        out |= {f"{n}shot/top1": float(acc.mean()), f"{n}shot/top1_std": float(acc.std()),
                f"{n}shot/lambda": float(np.median(lam))}
    return out
