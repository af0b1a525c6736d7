"""Koopman spectra with verification: EDMD, residuals, pseudospectra, spectral measures.

    import toolkit as tk
    from toolkit import koopman as kp

    x = tk.systems.trajectory("van_der_pol", 20_000, dt=0.1)
    spec = kp.edmd(x, None, kp.rbf(100), dt=0.1)    # Y=None: consecutive samples
    spec.verified(1e-3).frequencies                  # trusted eigenvalues → frequencies
    ps = kp.pseudospectrum(x, None, kp.rbf(100), kp.complex_grid())
    nu = kp.spectral_measure(x, 0)                   # ν_g for g = first coordinate
    kp.explore("van_der_pol")

Convention: snapshots are rows, X and Y of shape (M, d) with y_m = F(x_m); see ``edmd``
for how this maps to the DMD convention (snapshots as columns).
Follows Williams, Kevrekidis & Rowley (2015) for EDMD and Colbrook & Townsend (CPAM 2023)
for residuals, pseudospectra and spectral measures.
"""

from .continuous import continuous_time, frequencies, growth_rates
from .dictionaries import (
    DICTIONARY_KINDS,
    RBF,
    Coordinates,
    Delays,
    Dictionary,
    Fourier,
    Kernel,
    Polynomials,
    Union,
    chebyshev,
    coordinates,
    delays,
    dictionary_of_size,
    fourier,
    hermite,
    kernel,
    kmeans,
    legendre,
    monomials,
    polynomials,
    rbf,
    union,
)
from .edmd import KoopmanSpectrum, edmd, snapshot_pairs
from .explore import explore
from .measures import SpectralMeasure, atom_masses, filter_weights, moments, spectral_measure
from .pencil import ReducedPencil
from .pseudospectra import Pseudospectrum, complex_grid, pseudospectrum

__all__ = [
    "edmd",
    "KoopmanSpectrum",
    "snapshot_pairs",
    "pseudospectrum",
    "Pseudospectrum",
    "complex_grid",
    "spectral_measure",
    "SpectralMeasure",
    "moments",
    "atom_masses",
    "filter_weights",
    "continuous_time",
    "growth_rates",
    "frequencies",
    "explore",
    "ReducedPencil",
    "Dictionary",
    "Polynomials",
    "Coordinates",
    "RBF",
    "Fourier",
    "Delays",
    "Union",
    "Kernel",
    "polynomials",
    "monomials",
    "hermite",
    "legendre",
    "chebyshev",
    "coordinates",
    "rbf",
    "fourier",
    "delays",
    "union",
    "kernel",
    "kmeans",
    "dictionary_of_size",
    "DICTIONARY_KINDS",
]
