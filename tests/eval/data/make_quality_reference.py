"""Writes quality_reference.txt: two small feature sets and their FID, KID, precision, recall,
density and coverage as numpy and scipy compute them (FID with scipy.linalg.sqrtm, as
pytorch-fid; KID over one subset holding every row, as torch-fidelity's unbiased estimator;
the manifold measures as the prdc package, k = 3, strict inequalities).

    python3 make_quality_reference.py > quality_reference.txt     (numpy, scipy)
"""
import numpy as np
from scipy import linalg

rng = np.random.RandomState(0)
n, d, k = 40, 5, 3
mix = rng.normal(size=(d, d))
real = rng.normal(size=(n, d))
fake = 0.3 + rng.normal(size=(n, d)) @ mix * 0.7


def fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2)).real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def kid(a, b):
    width = a.shape[1]
    kernel = lambda p, q: (p @ q.T / width + 1) ** 3
    m = a.shape[0]
    kxx, kyy, kxy = kernel(a, a), kernel(b, b), kernel(a, b)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return within - 2 * kxy.sum() / (m * m)


def distances(p, q):
    return np.sqrt(((p[:, None, :] - q[None, :, :]) ** 2).sum(-1))


def manifold(a, b):
    radii_a = np.sort(distances(a, a), axis=1)[:, k]
    radii_b = np.sort(distances(b, b), axis=1)[:, k]
    ab = distances(a, b)
    precision = (ab < radii_a[:, None]).any(axis=0).mean()
    recall = (ab < radii_b[None, :]).any(axis=1).mean()
    density = (1.0 / k) * (ab < radii_a[:, None]).sum(axis=0).mean()
    coverage = (ab.min(axis=1) < radii_a).mean()
    return precision, recall, density, coverage


def rows(name, x):
    print(name, *x.shape)
    for row in x:
        print(*(repr(float(v)) for v in row))


rows("real", real)
rows("fake", fake)
print("fid", repr(float(fid(real, fake))))
print("kid", repr(float(kid(real, fake))))
for name, value in zip(("precision", "recall", "density", "coverage"), manifold(real, fake)):
    print(name, repr(float(value)))
