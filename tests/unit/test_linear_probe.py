import numpy as np
import pytest
import torch
from litlab.evaluators.linear_probe import DEFAULT_LAMBDAS, fewshot_probe, fit_ridge, onehot_pm1, select_lambda


def blobs(rng, classes, per_class, dim, spread):
    """Gaussian blobs around random unit centres; labels (n,) in class order."""
    centres = rng.normal(size=(classes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(classes), per_class)
    return centres[labels] + spread * rng.normal(size=(len(labels), dim)), labels


def reference_ridge(x, y, lam):
    """min ||X W + b - Y||^2 + lam ||W||^2 as one least-squares problem: the bias is not penalised."""
    n, d = x.shape
    design = np.block([[x, np.ones((n, 1))], [np.sqrt(lam) * np.eye(d), np.zeros((d, 1))]])  # (n + d, d + 1)
    target = np.vstack([y, np.zeros((d, y.shape[1]))])
    sol = torch.linalg.lstsq(torch.from_numpy(design), torch.from_numpy(target), driver="gelsd").solution.numpy()
    return sol[:d], sol[d]


@pytest.mark.parametrize("n,d", [(12, 5), (6, 20)])
@pytest.mark.parametrize("lam", [1e-3, 0.5, 30.0])
def test_ridge_matches_a_least_squares_reference_in_both_forms(n, d, lam):
    rng = np.random.default_rng(n * d)
    x, labels = rng.normal(size=(n, d)), rng.integers(0, 3, n)
    y = onehot_pm1(labels, np.arange(3))
    w_ref, b_ref = reference_ridge(x, y, lam)
    for form in ("auto", "primal", "dual"):
        w, b = fit_ridge(x, y, form).weights(lam)
        np.testing.assert_allclose(w, w_ref, atol=1e-8, err_msg=form)
        np.testing.assert_allclose(b, b_ref, atol=1e-8, err_msg=form)


def test_primal_and_dual_scores_agree_over_the_lambda_grid():
    rng = np.random.default_rng(1)
    x, xq = rng.normal(size=(15, 10)), rng.normal(size=(7, 10))
    y = onehot_pm1(rng.integers(0, 4, 15), np.arange(4))
    primal, dual = fit_ridge(x, y, "primal"), fit_ridge(x, y, "dual")
    np.testing.assert_allclose(primal.scores(xq, DEFAULT_LAMBDAS), dual.scores(xq, DEFAULT_LAMBDAS), atol=1e-8)
    w, b = primal.weights(DEFAULT_LAMBDAS[3])
    np.testing.assert_allclose(primal.scores(xq, DEFAULT_LAMBDAS)[3], xq @ w + b, atol=1e-10)
    with pytest.raises(ValueError, match="valid: auto, dual, primal"):
        fit_ridge(x, y, "kernel")


def test_select_lambda_takes_the_best_validation_accuracy_and_largest_on_ties():
    rng = np.random.default_rng(2)
    x, labels = blobs(rng, 4, 30, 16, spread=0.8)
    classes = np.arange(4)
    ridge = fit_ridge(x[::3], onehot_pm1(labels[::3], classes))
    accs = [(classes[ridge.scores(x[1::3], [lam])[0].argmax(1)] == labels[1::3]).mean() for lam in DEFAULT_LAMBDAS]
    chosen = select_lambda(ridge, x[1::3], labels[1::3], classes, DEFAULT_LAMBDAS)
    assert chosen == max(lam for lam, a in zip(DEFAULT_LAMBDAS, accs, strict=True) if a == max(accs))


def test_separable_blobs_score_near_one_at_ten_shots():
    rng = np.random.default_rng(3)
    xtr, ytr = blobs(rng, 6, 40, 32, spread=0.05)
    order = rng.permutation(len(ytr))  # the probe must not rely on label order
    xte, yte = xtr[order] + 0.05 * rng.normal(size=xtr.shape), ytr[order]
    m = fewshot_probe(xtr[order], ytr[order], xte, yte, shots=(1, 10), draws=3)
    assert m["10shot/top1"] >= 0.99 and m["10shot/top1_std"] <= 0.01
    assert set(m) == {f"{n}shot/{k}" for n in (1, 10) for k in ("top1", "top1_std", "lambda")}
    assert m["10shot/lambda"] in DEFAULT_LAMBDAS


def test_random_labels_score_near_chance():
    rng = np.random.default_rng(4)
    classes, n_test = 5, 1000
    xtr, ytr = rng.normal(size=(300, 16)), rng.integers(0, classes, 300)
    xte, yte = rng.normal(size=(n_test, 16)), rng.integers(0, classes, n_test)
    m = fewshot_probe(xtr, ytr, xte, yte, shots=(5, 25), draws=3)
    tolerance = 4 * np.sqrt((1 / classes) * (1 - 1 / classes) / n_test)
    for n in (5, 25):
        assert abs(m[f"{n}shot/top1"] - 1 / classes) < tolerance


def test_lambda_never_sees_the_test_set():
    rng = np.random.default_rng(5)
    xtr, ytr = blobs(rng, 5, 40, 24, spread=1.0)
    xte, yte = blobs(rng, 5, 40, 24, spread=1.0)
    base = fewshot_probe(xtr, ytr, xte, yte, shots=(1, 5, 10), draws=4)
    flipped = fewshot_probe(xtr, ytr, xte, rng.permutation(yte), shots=(1, 5, 10), draws=4)
    other = fewshot_probe(xtr, ytr, rng.normal(size=(7, 24)), np.zeros(7, int), shots=(1, 5, 10), draws=4)
    for n in (1, 5, 10):
        assert base[f"{n}shot/lambda"] == flipped[f"{n}shot/lambda"] == other[f"{n}shot/lambda"]
    assert base["5shot/top1"] != flipped["5shot/top1"]


def test_deterministic_and_accepts_torch_tensors():
    rng = np.random.default_rng(6)
    xtr, ytr = blobs(rng, 3, 20, 8, spread=1.0)
    xte, yte = blobs(rng, 3, 20, 8, spread=1.0)
    a = fewshot_probe(xtr, ytr, xte, yte, shots=(1, 5), draws=3, seed=7)
    b = fewshot_probe(torch.from_numpy(xtr).float(), torch.from_numpy(ytr), torch.from_numpy(xte).float(),
                      torch.from_numpy(yte), shots=(1, 5), draws=3, seed=7)
    assert a == pytest.approx(b, abs=1e-6)
    assert a != fewshot_probe(xtr, ytr, xte, yte, shots=(1, 5), draws=3, seed=8)


def test_too_few_examples_per_class_is_a_clear_error():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 10)
    x = np.random.default_rng(7).normal(size=(len(labels), 4))
    with pytest.raises(ValueError, match="5-shot probe needs 5 training examples per class; class 1 has 3"):
        fewshot_probe(x, labels, x, labels, shots=(1, 5))
    with pytest.raises(ValueError, match="no training examples left"):
        fewshot_probe(x[10:13], labels[10:13], x, labels, shots=(3,))
