import numpy as np
import pytest

from toolkit import koopman as kp


def test_log_lambda_over_dt_gives_growth_rates_and_frequencies():
    nu = np.array([-0.3 + 2.0j, 0.0 + 0.5j, -1.0 + 0.0j])
    dt = 0.1
    lam = np.exp(nu * dt)
    np.testing.assert_allclose(kp.continuous_time(lam, dt), nu, atol=1e-12)
    np.testing.assert_allclose(kp.growth_rates(lam, dt), nu.real, atol=1e-12)
    np.testing.assert_allclose(kp.frequencies(lam, dt), nu.imag, atol=1e-12)


def test_frequencies_above_nyquist_fold_back():
    dt = 0.5
    omega = 1.2 * np.pi / dt            # above the Nyquist limit π/Δt
    folded = kp.frequencies(np.exp(1j * omega * dt), dt)
    assert folded == pytest.approx(omega - 2 * np.pi / dt)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="^dt"):
        kp.continuous_time([1.0], dt=0.0)
    with pytest.raises(ValueError, match="^eigenvalues"):
        kp.continuous_time([np.nan])
