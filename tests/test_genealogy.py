"""The particles' ancestry without Qt: lineage, distinct-ancestor counts and the plot's
segments from a hand-written sequence of resamplings."""

import numpy as np

from poe_desktop.model.genealogy import distinct_ancestors, lineage, parents, segments

# 4 particles, 5 steps. Step 0: no resampling. Step 1: 0 and 2 survive, twice each.
# Step 2: none. Step 3: particle 1 (a child of 0) takes three places, 3 (a child of 2)
# one. Step 4, the last, resampled too: that leads past the run and is not used.
ANCESTORS = [None, np.array([0, 0, 2, 2]), None, np.array([1, 1, 1, 3]),
             np.array([3, 3, 3, 3])]


def test_parents_fill_the_identity_where_no_resampling_happened():
    table = parents(ANCESTORS, 4)
    assert table.shape == (5, 4)
    np.testing.assert_array_equal(table[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(table[3], [1, 1, 1, 3])


def test_lineage_follows_today_s_particles_back_to_their_ancestors():
    expected = np.array([
        [0, 0, 0, 2],  # step 0: through step 1's resampling
        [0, 0, 0, 2],
        [1, 1, 1, 3],  # step 2: through step 3's resampling
        [1, 1, 1, 3],
        [0, 1, 2, 3],  # the last step: each particle is its own
    ])
    np.testing.assert_array_equal(lineage(ANCESTORS, 4), expected)


def test_distinct_ancestors_of_today_s_particles_at_each_step():
    np.testing.assert_array_equal(distinct_ancestors(ANCESTORS, 4), [2, 2, 2, 2, 4])
    assert list(distinct_ancestors([None] * 3, 4)) == [4, 4, 4]  # never resampled
    assert len(distinct_ancestors([], 4)) == 0


def test_segments_join_each_parent_to_its_child_at_the_next_step():
    x, y = segments(ANCESTORS, 4)
    assert len(x) == len(y) == 2 * 4 * 4  # (T - 1) L segments, two points each
    pairs = {((x[i], y[i]), (x[i + 1], y[i + 1])) for i in range(0, len(x), 2)}
    assert ((1.0, 2.0), (2.0, 3.0)) in pairs  # step 1: particle 3 of step 2 from 2
    assert ((3.0, 1.0), (4.0, 2.0)) in pairs  # step 3: particle 2 of step 4 from 1
    assert ((0.0, 3.0), (1.0, 3.0)) in pairs  # step 0: identity
    assert segments([None], 4)[0].size == 0  # one step: nothing to join
