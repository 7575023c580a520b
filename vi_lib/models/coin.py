"""The coin toss: a Beta prior on the probability of heads, Bernoulli tosses.

The running example of the course. A coin lands heads with unknown probability
``theta``; the prior is ``Beta(a0, b0)``; the data are ``heads`` heads and
``tails`` tails in a *given order* (a sequence of Bernoulli outcomes).

Convention (sequence, not count)
--------------------------------
Every likelihood and evidence here is that of the observed **sequence**,
``p(x_1, ..., x_n | theta) = theta**heads * (1 - theta)**tails``. The
probability of the **count** ("``heads`` heads out of ``n``") is larger by the
binomial coefficient ``C(n, heads)``, a constant that does not depend on
``theta``: it changes the log evidence by ``log C(n, heads)`` and leaves the
posterior unchanged. Use :func:`coin_log_evidence` with ``convention="count"``
for the count version.

Functions are pure, vectorised (NumPy broadcasting), work in float64 and in
nats, and raise :class:`ValueError` naming the argument on bad input.

References
----------
C. M. Bishop, *Pattern Recognition and Machine Learning*, Springer, 2006, §2.1.1
(Beta–Bernoulli conjugacy, eq. 2.18) and §4.4 (Laplace approximation).
A. Gelman et al., *Bayesian Data Analysis*, 3rd ed., CRC Press, 2013, §2.4.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

from ..elbo import _nonnegative, _positive  # the same argument checks (ValueError naming it)

__all__ = [
    "coin_posterior",
    "coin_posterior_mean",
    "coin_log_evidence",
    "coin_log_joint",
    "coin_log_joint_logit",
    "coin_laplace",
    "logit_normal_pdf",
]


def _check_counts(heads, tails):
    return _nonnegative("heads", heads), _nonnegative("tails", tails)


def _check_prior(a0, b0):
    return _positive("a0", a0), _positive("b0", b0)


def coin_posterior(heads, tails, a0=1.0, b0=1.0):
    """Parameters of the exact Beta posterior of the coin toss.

    Parameters
    ----------
    heads, tails : array_like of float, broadcastable
        Numbers of heads and tails observed (>= 0; need not be integers).
    a0, b0 : array_like of float, broadcastable
        Parameters of the ``Beta(a0, b0)`` prior on ``theta`` (> 0).

    Returns
    -------
    a, b : numpy.ndarray or numpy.float64
        The posterior is ``Beta(a, b)`` with ``a = a0 + heads`` and
        ``b = b0 + tails``.

    Raises
    ------
    ValueError
        If a count is negative or a prior parameter is not positive.

    Notes
    -----
    Prior ``theta**(a0-1) (1-theta)**(b0-1)`` times likelihood
    ``theta**heads (1-theta)**tails`` is again a Beta kernel (conjugacy;
    Bishop 2006, eq. 2.18; Gelman et al. 2013, §2.4).

    Examples
    --------
    >>> a, b = coin_posterior(7, 3, 1.0, 1.0)
    >>> float(a), float(b)
    (8.0, 4.0)
    """
    heads, tails = _check_counts(heads, tails)
    a0, b0 = _check_prior(a0, b0)
    return a0 + heads, b0 + tails


def coin_posterior_mean(heads, tails, a0=1.0, b0=1.0):
    """Mean of the exact posterior, ``(a0 + heads) / (a0 + b0 + heads + tails)``.

    Parameters and Raises as in :func:`coin_posterior`.

    Returns
    -------
    numpy.ndarray
        Posterior mean of ``theta``, which is also the predictive
        probability of heads (Bishop 2006, eq. 2.20).
    """
    a, b = coin_posterior(heads, tails, a0, b0)
    return a / (a + b)


def coin_log_evidence(heads, tails, a0=1.0, b0=1.0, *, convention="sequence"):
    """Exact log evidence (log marginal likelihood) of the coin toss, in nats.

    Parameters
    ----------
    heads, tails : array_like of float, broadcastable
        Numbers of heads and tails (>= 0).
    a0, b0 : array_like of float, broadcastable
        Beta prior parameters (> 0).
    convention : {"sequence", "count"}
        ``"sequence"`` (default): probability of the observed ordered sequence
        of tosses. ``"count"``: probability of observing ``heads`` heads in
        ``heads + tails`` tosses, larger by the binomial coefficient.

    Returns
    -------
    numpy.ndarray
        ``log p(x)``.

    Raises
    ------
    ValueError
        On negative counts, non-positive prior parameters or an unknown
        ``convention``.

    Notes
    -----
    .. math::

        p(x) = \\int_0^1 \\theta^{h}(1-\\theta)^{t}
               \\frac{\\theta^{a_0-1}(1-\\theta)^{b_0-1}}{B(a_0, b_0)} d\\theta
             = \\frac{B(a_0 + h, b_0 + t)}{B(a_0, b_0)},

    computed as a difference of :func:`scipy.special.betaln` (stable for large
    counts). The count convention adds
    ``log C(h + t, h) = -log(h + t + 1) - betaln(h + 1, t + 1)``.
    Bishop 2006, §2.1.1 and §3.4 (the evidence); Gelman et al. 2013, §2.4.

    Examples
    --------
    >>> float(coin_log_evidence(1, 0))  # uniform prior: p(heads) = 1/2
    -0.6931471805599453
    """
    heads, tails = _check_counts(heads, tails)
    a0, b0 = _check_prior(a0, b0)
    log_z = special.betaln(a0 + heads, b0 + tails) - special.betaln(a0, b0)
    if convention == "sequence":
        return log_z
    if convention == "count":
        log_binom = -np.log1p(heads + tails) - special.betaln(heads + 1.0, tails + 1.0)
        return log_z + log_binom
    raise ValueError(f"convention must be 'sequence' or 'count', got {convention!r}")


def coin_log_joint(theta, heads, tails, a0=1.0, b0=1.0):
    """Log joint density ``log p(x, theta)`` on the probability scale (nats).

    Parameters
    ----------
    theta : array_like of float
        Probability of heads; any shape, broadcast against the other arguments.
        Values outside ``[0, 1]`` have density zero and give ``-inf``.
    heads, tails, a0, b0 : array_like of float
        Counts (>= 0) and Beta prior parameters (> 0).

    Returns
    -------
    numpy.ndarray
        ``(a0 + h - 1) log(theta) + (b0 + t - 1) log(1 - theta) - log B(a0, b0)``,
        the log of prior density times likelihood of the sequence.

    Raises
    ------
    ValueError
        On negative counts, non-positive prior parameters or NaN in ``theta``.

    Notes
    -----
    Uses :func:`scipy.special.xlogy` and :func:`scipy.special.xlog1py`, so that
    ``0 * log 0 = 0`` at the end points when an exponent is zero. Normalising
    over ``theta`` gives the Beta posterior (Bishop 2006, eq. 2.17–2.18).
    """
    heads, tails = _check_counts(heads, tails)
    a0, b0 = _check_prior(a0, b0)
    theta = np.asarray(theta, dtype=float)
    if np.any(np.isnan(theta)):
        raise ValueError("theta must not contain NaN")
    inside = (theta >= 0.0) & (theta <= 1.0)
    t = np.where(inside, theta, 0.5)
    with np.errstate(divide="ignore"):
        value = (special.xlogy(a0 + heads - 1.0, t) + special.xlog1py(b0 + tails - 1.0, -t)
                 - special.betaln(a0, b0))
    return np.where(inside, value, -np.inf)


def _log_sigmoid(x):
    # log(1 / (1 + exp(-x))) without overflow for large |x|.
    return -np.logaddexp(0.0, -x)


def coin_log_joint_logit(eta, heads, tails, a0=1.0, b0=1.0):
    """Log joint density on the logit scale, ``eta = log(theta / (1 - theta))`` (nats).

    Parameters
    ----------
    eta : array_like of float
        Log-odds of heads, any real number; any shape.
    heads, tails, a0, b0 : array_like of float
        Counts (>= 0) and Beta prior parameters (> 0).

    Returns
    -------
    numpy.ndarray
        ``log p(x, eta) = log p(x, theta(eta)) + log |d theta / d eta|``
        ``= (a0 + h) log sigma(eta) + (b0 + t) log sigma(-eta) - log B(a0, b0)``.

    Raises
    ------
    ValueError
        On negative counts, non-positive prior parameters or NaN in ``eta``.

    Notes
    -----
    With ``theta = sigma(eta)`` the Jacobian is
    ``d theta / d eta = sigma(eta) sigma(-eta)``, which adds one to each Beta
    exponent. ``log sigma(eta) = -log(1 + exp(-eta))`` is evaluated with
    :func:`numpy.logaddexp`, exact for ``|eta|`` in the hundreds. Integrating
    ``exp`` of this function over the real line gives the same evidence as
    :func:`coin_log_evidence` (change of variables; Bishop 2006, eq. 1.27).
    """
    heads, tails = _check_counts(heads, tails)
    a0, b0 = _check_prior(a0, b0)
    eta = np.asarray(eta, dtype=float)
    if np.any(np.isnan(eta)):
        raise ValueError("eta must not contain NaN")
    return ((a0 + heads) * _log_sigmoid(eta) + (b0 + tails) * _log_sigmoid(-eta)
            - special.betaln(a0, b0))


def coin_laplace(heads, tails, a0=1.0, b0=1.0, *, scale="logit"):
    """Laplace approximation of the coin posterior: a Gaussian at the mode.

    Parameters
    ----------
    heads, tails, a0, b0 : float
        Counts (>= 0) and Beta prior parameters (> 0); scalars.
    scale : {"logit", "probability"}
        Where the Gaussian lives: on ``eta = logit(theta)`` (default; any
        counts) or on ``theta`` itself (needs ``a0 + heads > 1`` and
        ``b0 + tails > 1`` so that the mode is inside ``(0, 1)``).

    Returns
    -------
    mode : float
        Maximiser of the log joint on the chosen scale, found numerically as the
        root of its derivative with :func:`scipy.optimize.brentq`.
    sigma : float
        Standard deviation ``(-d² log p(x, z) / dz²)**(-1/2)`` at the mode
        (analytic curvature).

    Raises
    ------
    ValueError
        On bad counts or prior, an unknown ``scale``, or when the mode on the
        probability scale is at a boundary.

    Notes
    -----
    Second-order Taylor expansion of the log joint at its mode (Bishop 2006,
    §4.4; Tierney & Kadane 1986). With ``a = a0 + h`` and
    ``b = b0 + t``:

    - logit scale: mode ``log(a / b)``, curvature
      ``-(a + b) m (1 - m)`` with ``m = a / (a + b)``;
    - probability scale: mode ``(a - 1) / (a + b - 2)``, curvature
      ``-(a - 1) / theta**2 - (b - 1) / (1 - theta)**2``.

    The Gaussian on the probability scale puts mass outside ``[0, 1]``; the
    one on the logit scale cannot.
    """
    a, b = coin_posterior(heads, tails, a0, b0)
    if a.ndim or b.ndim:
        raise ValueError("coin_laplace takes scalar counts and prior parameters")
    a, b = float(a), float(b)
    if scale == "logit":
        # Stationary point of a log sigma(eta) + b log sigma(-eta): a root of its
        # derivative a sigma(-eta) - b sigma(eta), strictly decreasing in eta.
        # The derivative is a > 0 at eta = -700 and -b < 0 at eta = +700.
        mode = optimize.brentq(lambda e: a * special.expit(-e) - b * special.expit(e),
                               -700.0, 700.0, xtol=1e-14)
        m = special.expit(mode)
        curvature = -(a + b) * m * (1.0 - m)
    elif scale == "probability":
        if a <= 1.0 or b <= 1.0:
            raise ValueError(
                "scale='probability' needs a0 + heads > 1 and b0 + tails > 1 "
                f"(mode inside (0, 1)), got a={a}, b={b}")
        # Root of the derivative (a - 1) / theta - (b - 1) / (1 - theta) in (0, 1).
        mode = optimize.brentq(lambda th: (a - 1.0) / th - (b - 1.0) / (1.0 - th),
                               1e-300, 1.0 - 1e-16, xtol=1e-15)
        curvature = -(a - 1.0) / mode**2 - (b - 1.0) / (1.0 - mode) ** 2
    else:
        raise ValueError(f"scale must be 'logit' or 'probability', got {scale!r}")
    return mode, float(np.sqrt(-1.0 / curvature))


def logit_normal_pdf(theta, mu, sigma):
    """Density on (0, 1) of ``theta = sigmoid(eta)`` with ``eta ~ N(mu, sigma²)``.

    The logit-normal distribution: a Gaussian q on the log-odds, as ADVI fits for
    the coin, seen on the probability scale.

    Parameters
    ----------
    theta : array_like of float
        Points at which to evaluate; any shape. The density is 0 outside (0, 1).
    mu, sigma : array_like of float
        Mean and standard deviation (> 0) of the Gaussian on the log-odds scale;
        broadcast with ``theta``.

    Returns
    -------
    numpy.ndarray
        ``N(logit(theta); mu, sigma²) / (theta (1 - theta))``, evaluated in log
        space (change of variables with ``d eta / d theta = 1 / (theta (1 - theta))``;
        Bishop 2006, eq. 1.27).

    Raises
    ------
    ValueError
        If ``sigma <= 0`` or an argument is NaN or infinite (``theta`` may be any
        finite number).
    """
    theta = np.asarray(theta, dtype=float)
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta must be finite")
    mu = np.asarray(mu, dtype=float)
    if not np.all(np.isfinite(mu)):
        raise ValueError("mu must be finite")
    sigma = _positive("sigma", sigma)
    if not np.all(np.isfinite(sigma)):
        raise ValueError("sigma must be finite")
    inside = (theta > 0) & (theta < 1)
    t = np.where(inside, theta, 0.5)
    with np.errstate(divide="ignore"):
        log_pdf = stats.norm.logpdf(special.logit(t), mu, sigma) - np.log(t) - np.log1p(-t)
    return np.where(inside, np.exp(log_pdf), 0.0)
