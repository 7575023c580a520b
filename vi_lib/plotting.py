"""One look for every figure in the book.

Every chapter calls :func:`use_style` once (in its imports cell) and draws the
recurring figures with the helpers below, so that p is always drawn the same
way (black), q always the same way (the accent colour), and axes are labelled.

Functions take and return Matplotlib objects; none of them calls ``plt.show``.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "COLORS",
    "use_style",
    "new_axes",
    "plot_density",
    "plot_densities",
    "plot_contours",
    "plot_gaussian_ellipse",
    "plot_gaussian_ellipses",
    "gaussian_ellipse_points",
    "plot_elbo_trace",
]

#: Colours by role. ``p`` is the target, ``q`` the approximation.
COLORS = {
    "p": "#222222",
    "q": "#d1495b",
    "q2": "#00798c",
    "q3": "#edae49",
    "q4": "#66a182",
    "data": "#2e4057",
    "grid": "#dddddd",
}

_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": COLORS["grid"],
    "grid.linewidth": 0.6,
    "axes.prop_cycle": mpl.cycler(
        color=[COLORS["q"], COLORS["q2"], COLORS["q3"], COLORS["q4"], COLORS["data"]]
    ),
    "lines.linewidth": 2.0,
    "legend.frameon": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "figure.constrained_layout.use": True,
}


def use_style():
    """Apply the course's Matplotlib style (process-wide)."""
    mpl.rcParams.update(_STYLE)


def new_axes(ncols=1, nrows=1, *, width=None, height=None, **kwargs):
    """Create a figure with ``nrows × ncols`` axes in the course style.

    Parameters
    ----------
    ncols, nrows : int
        Grid of axes.
    width, height : float, optional
        Figure size in inches; defaults scale the style's size with the grid.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : matplotlib.axes.Axes or numpy.ndarray of Axes
    """
    w0, h0 = _STYLE["figure.figsize"]
    width = width if width is not None else min(w0 * ncols, 12.0)
    height = height if height is not None else h0 * nrows
    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def plot_density(ax, x, density, *, role="q", label=None, fill=False, **kwargs):
    """Draw a 1-D density curve in the colour of its role (``"p"``, ``"q"``, ``"q2"``...).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : array_like, shape (n,)
        Grid of points.
    density : array_like, shape (n,)
        Density values on the grid (not log-density).
    role : str
        Key of :data:`COLORS`; ``"p"`` is drawn dashed.
    fill : bool
        Shade the area under the curve.
    """
    color = kwargs.pop("color", COLORS.get(role, role))
    ls = kwargs.pop("linestyle", "--" if role == "p" else "-")
    (line,) = ax.plot(x, density, color=color, linestyle=ls, label=label, **kwargs)
    if fill:
        ax.fill_between(x, density, color=color, alpha=0.15, linewidth=0)
    return line


def plot_densities(ax, x, p=None, q=None, *, p_label="$p$", q_label="$q$", xlabel="$z$"):
    """Draw a target density ``p`` and an approximation ``q`` on one axis, labelled.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : array_like, shape (n,)
    p, q : array_like, shape (n,), optional
        Density values of the target and of the approximation.
    """
    if p is not None:
        plot_density(ax, x, p, role="p", label=p_label)
    if q is not None:
        plot_density(ax, x, q, role="q", label=q_label, fill=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
    return ax


def plot_contours(ax, log_density, xlim, ylim, *, n=200, levels=6, radii=None, role="p",
                  label=None, xlabel="$z_1$", ylabel="$z_2$", **kwargs):
    """Contours of a 2-D (possibly unnormalised) log-density on a grid.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    log_density : callable
        Maps an array of shape ``(..., 2)`` to log-densities of shape ``(...)``.
    xlim, ylim : tuple of float
        Plot ranges.
    n : int
        Grid points per axis.
    levels : int
        Number of contour levels, evenly spaced between 5 % and 95 % of the largest
        density on the grid. Ignored when ``radii`` is given.
    radii : sequence of float, optional
        Draw instead the level sets where the density equals ``exp(-r²/2)`` times its
        largest value on the grid, one per ``r`` (each ``r > 0``). For a Gaussian whose
        mode lies on the grid these are its Mahalanobis-radius-``r`` ellipses (up to the
        grid's resolution), so a non-Gaussian density drawn this way can be compared
        with :func:`plot_gaussian_ellipses` at the same ``radii``.

    Raises
    ------
    ValueError
        If a radius is not finite and positive.
    """
    xs = np.linspace(*xlim, n)
    ys = np.linspace(*ylim, n)
    xx, yy = np.meshgrid(xs, ys)
    logd = np.asarray(log_density(np.stack([xx, yy], axis=-1)))
    dens = np.exp(logd - np.max(logd))
    if radii is None:
        lv = np.linspace(0.05, 0.95, levels)
    else:
        r = _check_radii(radii)
        lv = np.sort(np.exp(-0.5 * r**2))  # contour levels must increase
    color = kwargs.pop("colors", COLORS.get(role, role))
    cs = ax.contour(xx, yy, dens, levels=lv, colors=color, **kwargs)
    if label is not None:
        ax.plot([], [], color=color, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal", adjustable="box")
    return cs


def plot_gaussian_ellipse(ax, mean, cov, *, n_std=2.0, role="q", label=None, **kwargs):
    """The ``n_std``-standard-deviation ellipse of a 2-D Gaussian.

    Parameters
    ----------
    mean : array_like, shape (2,)
    cov : array_like, shape (2, 2)
        Symmetric positive-definite covariance.
    """
    mean = np.asarray(mean, dtype=float)
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=float))
    t = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(t), np.sin(t)])
    pts = mean[:, None] + n_std * vecs @ (np.sqrt(vals)[:, None] * circle)
    color = kwargs.pop("color", COLORS.get(role, role))
    (line,) = ax.plot(pts[0], pts[1], color=color, label=label, **kwargs)
    return line


def _check_radii(radii):
    r = np.atleast_1d(np.asarray(radii, dtype=float))
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"radii must be a non-empty sequence of finite numbers > 0, got {radii!r}")
    return r


def gaussian_ellipse_points(mean, cov, radius=1.0, *, n=200):
    """Points on the Mahalanobis-radius ellipse of a 2-D Gaussian.

    The ellipse is the set ``{z : (z - mean)ᵀ cov⁻¹ (z - mean) = radius²}``, traced as
    ``z = mean + radius · L u`` with ``L`` the lower Cholesky factor of ``cov``
    (``cov = L Lᵀ``) and ``u`` running over the unit circle: then
    ``(z - mean)ᵀ cov⁻¹ (z - mean) = radius² uᵀ Lᵀ (L Lᵀ)⁻¹ L u = radius²``.

    Parameters
    ----------
    mean : array_like, shape (2,)
    cov : array_like, shape (2, 2)
        Symmetric positive-definite covariance.
    radius : float
        Mahalanobis radius ``r > 0``. A radius-``r`` ellipse of a 2-D Gaussian holds
        probability ``1 - exp(-r²/2)`` (the squared radius is χ² with two degrees of
        freedom): 39.3 % for ``r = 1``, 86.5 % for ``r = 2``.
    n : int
        Number of points (the first and the last coincide, closing the curve).

    Returns
    -------
    ndarray, shape (n, 2)

    Raises
    ------
    ValueError
        If ``mean`` or ``cov`` has the wrong shape or non-finite entries, ``cov`` is not
        symmetric (to 1e-10 relative) or not positive definite, or ``radius`` is not
        finite and positive.
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if mean.shape != (2,) or not np.all(np.isfinite(mean)):
        raise ValueError(f"mean must be a finite array of shape (2,), got {mean!r}")
    if cov.shape != (2, 2) or not np.all(np.isfinite(cov)):
        raise ValueError(f"cov must be a finite array of shape (2, 2), got {cov!r}")
    if abs(cov[0, 1] - cov[1, 0]) > 1e-10 * np.max(np.abs(cov)):
        raise ValueError(f"cov must be symmetric, got {cov!r}")
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"cov must be positive definite, got {cov!r}") from None
    (r,) = _check_radii(radius)
    t = np.linspace(0.0, 2.0 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)], axis=-1)
    return mean + r * circle @ chol.T


def plot_gaussian_ellipses(ax, mean, cov, radii=(1.0, 2.0), *, role="q", label=None, n=200,
                           **kwargs):
    """A 2-D Gaussian's ellipses at given Mahalanobis radii, in the colour of its role.

    Drawing p and q with the same ``radii`` compares like with like: each curve is
    ``{z : (z - mean)ᵀ cov⁻¹ (z - mean) = r²}`` (see :func:`gaussian_ellipse_points`),
    whereas density contours at fractions of each density's maximum (as
    :func:`plot_contours` draws by default) are not Mahalanobis levels.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    mean : array_like, shape (2,)
    cov : array_like, shape (2, 2)
        Symmetric positive-definite covariance.
    radii : sequence of float
        Mahalanobis radii, each ``> 0`` (default 1 and 2: 39.3 % and 86.5 % of the mass).
    role : str
        Key of :data:`COLORS`; ``"p"`` is drawn dashed unless ``linestyle`` is given.
    label : str, optional
        Legend label, attached to the first ellipse only.
    n : int
        Points per ellipse.
    **kwargs
        Passed to ``ax.plot`` (``color``, ``linestyle``, ``lw`` ...).

    Returns
    -------
    list of matplotlib.lines.Line2D
        One line per radius, in the order of ``radii``.

    Raises
    ------
    ValueError
        As :func:`gaussian_ellipse_points` (shapes, symmetry, positive definiteness,
        radii).
    """
    r = _check_radii(radii)
    pts = [gaussian_ellipse_points(mean, cov, ri, n=n) for ri in r]
    color = kwargs.pop("color", COLORS.get(role, role))
    ls = kwargs.pop("linestyle", kwargs.pop("ls", "--" if role == "p" else "-"))
    lines = []
    for i, pt in enumerate(pts):
        (line,) = ax.plot(pt[:, 0], pt[:, 1], color=color, linestyle=ls,
                          label=label if i == 0 else None, **kwargs)
        lines.append(line)
    return lines


def plot_elbo_trace(ax, elbo, *, log_evidence=None, label="ELBO", role="q", smooth=None):
    """An ELBO trace against the step, with the log evidence as a horizontal line.

    Parameters
    ----------
    elbo : array_like, shape (n_steps,)
        ELBO in nats at each step.
    log_evidence : float, optional
        Drawn as a dashed line when given.
    smooth : int, optional
        Window of a running mean drawn over the raw (noisy) trace.
    """
    elbo = np.asarray(elbo, dtype=float)
    steps = np.arange(1, elbo.size + 1)
    color = COLORS.get(role, role)
    if smooth:
        ax.plot(steps, elbo, color=color, alpha=0.25, linewidth=1)
        kernel = np.ones(smooth) / smooth
        ax.plot(steps[smooth - 1:], np.convolve(elbo, kernel, mode="valid"), color=color,
                label=f"{label} (running mean of {smooth})")
    else:
        ax.plot(steps, elbo, color=color, label=label)
    if log_evidence is not None:
        ax.axhline(log_evidence, color=COLORS["p"], linestyle="--", linewidth=1.2,
                   label=r"$\log p(x)$")
    ax.set_xlabel("step")
    ax.set_ylabel("nats")
    ax.legend()
    return ax


def plot_mixture(ax, x, means, covs, weights, *, min_weight=0.01, n_std=2.0, role="q",
                 data_label="data", label="components"):
    """Data as points and the components of a 2-D Gaussian mixture as ellipses.

    Parameters
    ----------
    x : array_like, shape (N, 2)
        Data, drawn as small points.
    means : array_like, shape (K, 2)
        Component means.
    covs : array_like, shape (K, 2, 2)
        Component covariances (symmetric positive definite).
    weights : array_like, shape (K,)
        Mixing weights; only components with weight above ``min_weight`` are drawn, with a
        line width that grows with the weight (as in Bishop 2006, Fig. 10.6).
    n_std : float
        Size of each ellipse in standard deviations.

    Returns
    -------
    int
        The number of components drawn.
    """
    x = np.asarray(x, dtype=float)
    weights = np.asarray(weights, dtype=float)
    ax.scatter(x[:, 0], x[:, 1], s=6, color=COLORS["data"], alpha=0.5, label=data_label)
    shown = 0
    for mean, cov, w in zip(np.asarray(means, dtype=float), np.asarray(covs, dtype=float), weights):
        if w > min_weight:
            plot_gaussian_ellipse(ax, mean, cov, n_std=n_std, role=role, lw=0.8 + 3.0 * w,
                                  label=label if shown == 0 else None)
            shown += 1
    ax.set_aspect("equal", adjustable="box")
    return shown


__all__ += ["plot_mixture"]
__all__.append("plot_mean_sd_intervals")


def plot_mean_sd_intervals(ax, labels, estimates, *, roles=None, xlabel="value"):
    """Mean ± one standard deviation of several estimates, one row per quantity.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    labels : sequence of str, length k
        Names of the quantities (one row each, top to bottom).
    estimates : dict
        ``{name: (mean, sd)}`` with arrays of shape (k,), drawn in order, slightly offset
        within each row. The first entry is drawn in the reference colour (``p``) unless
        ``roles`` says otherwise.
    roles : sequence of str, optional
        Keys of :data:`COLORS` per estimate (default ``"p", "q", "q2", "q3", ...``).
    xlabel : str
        Label of the horizontal axis.
    """
    names = list(estimates)
    if roles is None:
        roles = ["p", "q", "q2", "q3", "q4"][: len(names)]
    k = len(labels)
    rows = np.arange(k)[::-1]
    offsets = np.linspace(0.22, -0.22, len(names)) if len(names) > 1 else [0.0]
    for name, role, dy in zip(names, roles, offsets):
        mean, sd = (np.asarray(a, dtype=float) for a in estimates[name])
        color = COLORS.get(role, role)
        ax.hlines(rows + dy, mean - sd, mean + sd, color=color, linewidth=2.2, label=name)
        ax.plot(mean, rows + dy, "o", color=color, markersize=4)
    ax.set_yticks(rows)
    ax.set_yticklabels(labels)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8)
    return ax


# --- additions for chapter 12 (flows and bounds) -------------------------------------------

def plot_samples(ax, z, *, role="q", label=None, max_points=2000, size=3, alpha=0.35):
    """Scatter the first two coordinates of draws of q (at most ``max_points`` of them).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    z : array_like, shape (n, d), d >= 2
    role : str
        Key of :data:`COLORS`.
    """
    z = np.asarray(z, dtype=float)[:max_points]
    color = COLORS.get(role, role)
    return ax.scatter(z[:, 0], z[:, 1], s=size, color=color, alpha=alpha, linewidths=0,
                      label=label)


def plot_estimates(ax, x, estimate, std_error, *, role="q", label=None, n_se=2.0,
                   reference=None, reference_label=r"$\log p(x)$", marker="o"):
    """Monte Carlo estimates with ±``n_se`` standard-error bars, and an optional reference line.

    Parameters
    ----------
    x, estimate, std_error : array_like, shape (n,)
    reference : float, optional
        Exact value drawn as a dashed line in the colour of ``p``.
    """
    color = COLORS.get(role, role)
    ax.errorbar(x, estimate, yerr=n_se * np.asarray(std_error), color=color, marker=marker,
                markersize=4, capsize=2, label=label)
    if reference is not None:
        ax.axhline(reference, color=COLORS["p"], linestyle="--", linewidth=1.2,
                   label=reference_label)
    ax.set_ylabel("nats")
    return ax


__all__ += ["plot_samples", "plot_estimates"]
