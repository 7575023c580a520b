"""vi_lib.plotting: Gaussian ellipses at Mahalanobis radii, and contours at matching levels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vi_lib import plotting  # noqa: E402

# (mean, cov): isotropic, axis-aligned with very different scales, strongly correlated
# (rho = -0.95), and a correlated covariance with tiny entries.
CASES = [
    (np.array([0.0, 0.0]), np.eye(2)),
    (np.array([1.0, -2.0]), np.diag([4.0, 0.01])),
    (np.array([-0.3, 0.8]), np.array([[1.0, -0.95 * 0.5], [-0.95 * 0.5, 0.25]])),
    (np.array([1e3, 5.0]), 1e-6 * np.array([[2.0, 0.7], [0.7, 1.0]])),
]


def _mahalanobis(pts, mean, cov):
    d = pts - mean
    return np.sqrt(np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d))


def _shoelace_area(pts):
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.mark.parametrize("mean, cov", CASES)
@pytest.mark.parametrize("radius", [0.5, 1.0, 2.0, 3.0])
def test_points_lie_at_the_mahalanobis_radius(mean, cov, radius):
    pts = plotting.gaussian_ellipse_points(mean, cov, radius, n=400)
    assert pts.shape == (400, 2)
    assert np.allclose(_mahalanobis(pts, mean, cov), radius, rtol=1e-10, atol=0)
    # the curve is the whole ellipse, not a piece of it: its area is pi r^2 sqrt(det cov)
    # (to the accuracy of a 400-gon inscribed in it), and it is closed
    area = np.pi * radius**2 * np.sqrt(np.linalg.det(cov))
    assert abs(_shoelace_area(pts[:-1]) / area - 1) < 1e-3
    assert np.allclose(pts[0], pts[-1], rtol=1e-12)


@pytest.mark.parametrize("mean, cov", CASES)
def test_plot_gaussian_ellipses_draws_one_line_per_radius(ax, mean, cov):
    lines = plotting.plot_gaussian_ellipses(ax, mean, cov, radii=(1, 2, 3), role="p",
                                            label="p", lw=1)
    assert len(lines) == 3
    for line, r in zip(lines, (1, 2, 3)):
        pts = np.column_stack(line.get_data())
        assert np.allclose(_mahalanobis(pts, mean, cov), r, rtol=1e-10, atol=0)
        assert line.get_linestyle() == "--"           # p is dashed
        assert line.get_color() == plotting.COLORS["p"]
    assert [line.get_label() for line in lines][0] == "p"
    assert all(line.get_label().startswith("_") for line in lines[1:])  # one legend entry


def test_role_q_is_solid_and_linestyle_can_be_overridden(ax):
    (solid,) = plotting.plot_gaussian_ellipses(ax, [0, 0], np.eye(2), radii=[1.0])
    (dotted,) = plotting.plot_gaussian_ellipses(ax, [0, 0], np.eye(2), radii=[1.0],
                                                linestyle=":")
    assert solid.get_linestyle() == "-" and solid.get_color() == plotting.COLORS["q"]
    assert dotted.get_linestyle() == ":"


@pytest.mark.parametrize("cov, match", [
    (np.array([[1.0, 2.0], [2.0, 1.0]]), "positive definite"),     # indefinite
    (np.array([[1.0, 1.0], [1.0, 1.0]]), "positive definite"),     # singular
    (np.array([[-1.0, 0.0], [0.0, 1.0]]), "positive definite"),
    (np.array([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "finite"),
    (np.eye(3), "shape"),
])
def test_bad_covariance_raises(ax, cov, match):
    with pytest.raises(ValueError, match=match):
        plotting.plot_gaussian_ellipses(ax, [0.0, 0.0], cov)
    with pytest.raises(ValueError, match=match):
        plotting.gaussian_ellipse_points([0.0, 0.0], cov)


@pytest.mark.parametrize("radii", [(0.0,), (-1.0, 2.0), (np.inf,), (np.nan,), ()])
def test_bad_radii_raise(ax, radii):
    with pytest.raises(ValueError, match="radii"):
        plotting.plot_gaussian_ellipses(ax, [0.0, 0.0], np.eye(2), radii=radii)


@pytest.mark.parametrize("mean", [[0.0], [0.0, np.inf], [[0.0, 0.0]]])
def test_bad_mean_raises(ax, mean):
    with pytest.raises(ValueError, match="mean"):
        plotting.plot_gaussian_ellipses(ax, mean, np.eye(2))


def test_contours_at_radii_match_the_ellipses_of_a_gaussian(ax):
    mean, cov = CASES[2]
    prec = np.linalg.inv(cov)

    def log_density(z):
        d = z - mean
        return -0.5 * np.einsum("...i,ij,...j->...", d, prec, d)

    cs = plotting.plot_contours(ax, log_density, (-3.5, 3.0), (-0.8, 2.4), n=400,
                                radii=(2.0, 1.0))
    # levels are increasing densities: radius 2 first
    assert np.allclose(cs.levels, np.exp(-0.5 * np.array([4.0, 1.0])))
    for path, r in zip(cs.get_paths(), (2.0, 1.0)):
        # to the resolution of the grid (spacing ~0.016 in z_1, ~0.008 in z_2)
        assert np.allclose(_mahalanobis(path.vertices, mean, cov), r, rtol=2e-3)


def test_contours_default_levels_unchanged(ax):
    cs = plotting.plot_contours(ax, lambda z: -0.5 * np.sum(z**2, axis=-1), (-3, 3), (-3, 3))
    assert np.allclose(cs.levels, np.linspace(0.05, 0.95, 6))


def test_contours_bad_radii_raise(ax):
    with pytest.raises(ValueError, match="radii"):
        plotting.plot_contours(ax, lambda z: -np.sum(z**2, axis=-1), (-1, 1), (-1, 1),
                               radii=(1.0, -2.0))
