#!/usr/bin/env python3
"""Derives the Winograd (Toom-Cook) transforms of src/model/winograd_conv_transpose.cpp.

For F(m, r), m outputs of an r-tap correlation y[i] = sum_k g[k] d[i + k] from m + r - 1 inputs,
at the given interpolation points and infinity: AT (m x n) and G (n x r) by the textbook
construction, BT (n x n) solved exactly from y = AT ((G g) * (BT d)), then checked. Prints each
as rows of exact fractions. Needs sympy (PyTorch's wheel brings it: .venv/bin/python).
"""
import sympy as sp

HALF = sp.Rational(1, 2)
CASES = [(2, 3, [0, 1, -1]), (2, 2, [0, 1]), (4, 3, [0, 1, -1, HALF, -2]), (4, 2, [0, 1, -1, 2])]


def transforms(m, r, points):
    n = m + r - 1
    assert len(points) == n - 1
    at = sp.zeros(m, n)
    g = sp.zeros(n, r)
    for i in range(m):
        for j, p in enumerate(points):
            at[i, j] = sp.Rational(p) ** i
        at[i, n - 1] = 1 if i == m - 1 else 0
    for j, p in enumerate(points):
        f = sp.prod([p - q for q in points if q != p])
        for k in range(r):
            g[j, k] = sp.Rational(p) ** k / f
    g[n - 1, r - 1] = 1
    b = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"b{i}_{j}"))

    def exact(bt):
        return [sum(at[i, j] * g[j, k] * bt[j, l] for j in range(n)) - (1 if l == i + k else 0)
                for i in range(m) for k in range(r) for l in range(n)]

    (solution,) = sp.solve(exact(b), list(b), dict=True)
    bt = b.subs(solution)
    bt = bt.subs({s: 0 for s in bt.free_symbols})
    assert all(e == 0 for e in exact(bt))
    return at, g, bt


def main():
    for m, r, points in CASES:
        at, g, bt = transforms(m, r, points)
        print(f"F({m},{r}) at {points} and infinity")
        for name, mat in (("BT", bt), ("G", g), ("AT", at)):
            print(f"  {name} = {mat.tolist()}")


if __name__ == "__main__":
    main()
