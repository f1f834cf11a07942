"""CIEDE2000 against the published test data of Sharma, Wu & Dalal (2005), "The CIEDE2000
color-difference formula: implementation notes, supplementary test data, and mathematical
observations", Color Res. Appl. 30(1), Table 1 (pair numbers as in the paper).

The pairs chosen cover what implementations get wrong: the mean hue across the 0/360 degree
discontinuity (13-16), the a' rescaling near neutral (7, 17), large differences (21-23), the
unit-difference pairs (4, 25-28), the RT rotation term in the blue region (1-3) and dark colours
(37, 38). Values are given to four decimals in the paper.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics import ciede2000

# pair: (L1, a1, b1), (L2, a2, b2), published delta E 00
SHARMA_2005 = {
    1: ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    2: ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    4: ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    7: ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    13: ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    15: ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    17: ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    21: ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    23: ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    25: ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    29: ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    34: ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    37: ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    38: ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
}


@pytest.mark.parametrize("pair", sorted(SHARMA_2005))
def test_ciede2000_matches_the_published_pair(pair):
    first, second, expected = SHARMA_2005[pair]
    value = float(ciede2000(np.array(first), np.array(second)))
    assert value == pytest.approx(expected, abs=5e-5)


def test_ciede2000_is_symmetric_and_vectorised():
    """The paper's pairs 7 and 8 are one pair both ways; a whole array gives the same per pair."""
    firsts = np.array([p[0] for p in SHARMA_2005.values()])
    seconds = np.array([p[1] for p in SHARMA_2005.values()])
    expected = np.array([p[2] for p in SHARMA_2005.values()])
    np.testing.assert_allclose(ciede2000(firsts, seconds), expected, atol=5e-5)
    np.testing.assert_allclose(ciede2000(seconds, firsts), expected, atol=5e-5)
    assert float(ciede2000(firsts[:1], firsts[:1])[0]) == 0.0
