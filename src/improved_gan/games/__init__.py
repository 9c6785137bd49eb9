"""The toy games of Section 3: why gradient descent orbits, and what historical averaging does.

- :mod:`~improved_gan.games.games`: game 1 (``xy`` against ``-xy``) and game 2
  (the minimax game ``(f(x) - 1)(y - 1)``), their equilibria.
- :mod:`~improved_gan.games.players`: the two players' parameters, costs and
  gradients, with the historical-averaging penalty of Section 3.3.
- :mod:`~improved_gan.games.rules`: simultaneous and alternating gradient
  descent (the paper), extragradient and optimistic GD (later remedies).
- :mod:`~improved_gan.games.runner`: run a method, record its trajectory.
- :mod:`~improved_gan.games.settings`: what one experiment is asked for, checked without torch.
- :mod:`~improved_gan.games.plots`, :mod:`~improved_gan.games.sweep`,
  :mod:`~improved_gan.games.experiment`: the pictures and tables of docs/games.md.
"""

from improved_gan.utils.lazy import lazy_names

_HOMES = {
    "GAMES": "games", "BilinearGame": "games", "Game": "games", "KinkedGame": "games", "get_game": "games",
    "Players": "players", "RULES": "rules", "UpdateRule": "rules", "make_rule": "rules",
    "Method": "runner", "Trajectory": "runner", "default_methods": "runner", "run_game": "runner",
    "GamesSettings": "settings",
}
"""Where each name of the package lives. They are imported on first use (``from improved_gan.games import
run_game``), not with the package: importing :mod:`~improved_gan.games.settings`, to check a flag, then
costs only that module, not torch (docs/cli.md, Start-up)."""


__getattr__ = lazy_names(__name__, _HOMES)

__all__ = [
    "GAMES",
    "RULES",
    "BilinearGame",
    "Game",
    "GamesSettings",
    "KinkedGame",
    "Method",
    "Players",
    "Trajectory",
    "UpdateRule",
    "default_methods",
    "get_game",
    "make_rule",
    "run_game",
]
