"""Figures, the sweep heatmap, the table and the JSON rows of the games experiment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from improved_gan.games import BilinearGame, KinkedGame, Method, default_methods, run_game
from improved_gan.games.experiment import compare_methods, format_table, result_rows, write_game_figures
from improved_gan.games.plots import plot_distances, plot_trajectories, save_png
from improved_gan.games.sweep import format_sweep_table, plot_sweep, sweep_history_weight

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def kinked_runs():
    return compare_methods(KinkedGame(), default_methods(0.5), lr=0.1, steps=200)


def _texts(figure) -> list[str]:
    return [text.get_text() for axes in figure.axes for text in (axes.title, *axes.texts)]


def test_trajectory_figure_has_a_panel_per_method_and_names_the_divergence(kinked_runs, tmp_path):
    assert kinked_runs[0].diverged  # simultaneous GD, lr = 0.1, escapes at step 127
    figure = plot_trajectories(kinked_runs, title="game 2")
    assert len(figure.axes) == len(kinked_runs)
    titles = [axes.get_title() for axes in figure.axes]
    assert titles[0] == "simultaneous GD\ndiverged at step 127"
    assert titles[4].startswith("extragradient (not in paper)\ndistance ")
    save_png(figure, tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes().startswith(PNG_MAGIC)


def test_distance_figure_is_log_scale_with_one_curve_per_method_and_dashed_remedies(kinked_runs):
    figure = plot_distances(kinked_runs, title="game 2")
    (axes,) = figure.axes
    assert axes.get_yscale() == "log"
    curves = [line for line in axes.get_lines() if line.get_label() and not line.get_label().startswith("_")]
    assert len(curves) == len(kinked_runs)
    assert [line.get_linestyle() for line in curves] == ["-", "-", "-", "-", "--", "--"]
    assert curves[0].get_label() == "simultaneous GD (diverged at step 127)"
    np.testing.assert_array_equal(curves[2].get_ydata(), kinked_runs[2].distances())


def test_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="at least one trajectory"):
        plot_trajectories([], title="")
    with pytest.raises(ValueError, match="at least one trajectory"):
        plot_distances([], title="")


def test_write_game_figures(tmp_path):
    runs = [run_game(BilinearGame(), Method("alternating"), lr=0.1, steps=20)]
    paths = write_game_figures(tmp_path / "new", BilinearGame(), runs)
    assert [p.name for p in paths] == ["bilinear-trajectories.png", "bilinear-distance.png"]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in paths)


def test_sweep_is_the_final_distance_of_each_single_run():
    lrs, weights = [0.05, 0.2], [0.1, 0.5]
    grid = sweep_history_weight(KinkedGame(), rule="simultaneous", lrs=lrs, weights=weights, steps=150)
    assert grid.shape == (2, 2)
    for i, lr in enumerate(lrs):
        for j, weight in enumerate(weights):
            alone = run_game(KinkedGame(), Method("simultaneous", weight), lr=lr, steps=150).final_distance
            assert grid[i, j] == alone
    assert np.isinf(grid[1, 0])  # lr 0.2 with weight 0.1 escapes


def test_sweep_heatmap_marks_diverged_cells():
    distances = np.array([[0.01, np.inf], [1.5, 2e-3]])
    figure = plot_sweep(distances, lrs=[0.1, 0.2], weights=[0.5, 1.0], title="sweep")
    assert sorted(t for t in _texts(figure) if t and t != "sweep") == ["0.002", "0.01", "1.5", "diverged"]
    with pytest.raises(ValueError, match=r"expected distances of shape \(3, 2\) \(got \(2, 2\)\)"):
        plot_sweep(distances, lrs=[0.1, 0.2, 0.3], weights=[0.5, 1.0], title="")


def test_sweep_table_has_a_row_per_step_size_and_a_column_per_weight():
    table = format_sweep_table(np.array([[0.01, np.inf], [1.5, 2e-3]]), lrs=[0.1, 0.2], weights=[0.5, 1.0])
    assert table.splitlines() == [
        "lr \\ w       0.5         1",
        "   0.1  1.00e-02  diverged",
        "   0.2  1.50e+00  2.00e-03",
    ]


def test_table_and_rows(kinked_runs):
    table = format_table(kinked_runs).splitlines()
    assert table[0].split() == ["game", "method", "start", "dist", "final", "dist"]
    assert set(table[1]) <= {"-", " "}
    assert table[2].startswith("kinked  ") and table[2].endswith("diverged at step 127")
    assert table[4].endswith(f"{kinked_runs[2].final_distance:.3e}")
    rows = json.loads(json.dumps(result_rows(kinked_runs)))
    assert rows[0]["final_distance"] is None and rows[0]["diverged_at"] == 127
    assert rows[2] == {
        "game": "kinked",
        "rule": "simultaneous",
        "history_weight": 0.5,
        "from_paper": True,
        "lr": 0.1,
        "steps": 200,
        "start": [-0.5, 2.0],
        "equilibrium": [1.0, 1.0],
        "start_distance": kinked_runs[2].start_distance,
        "final_distance": kinked_runs[2].final_distance,
        "diverged_at": None,
    }
