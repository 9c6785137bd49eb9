"""The toy games of Section 3: why gradient descent orbits, and what historical averaging does.

- :mod:`~improved_gan.games.games`: game 1 (``xy`` against ``-xy``) and game 2
  (the minimax game ``(f(x) - 1)(y - 1)``), their equilibria.
- :mod:`~improved_gan.games.players`: the two players' parameters, costs and
  gradients, with the historical-averaging penalty of Section 3.3.
- :mod:`~improved_gan.games.rules`: simultaneous and alternating gradient
  descent (the paper), extragradient and optimistic GD (later remedies).
- :mod:`~improved_gan.games.runner`: run a method, record its trajectory.
- :mod:`~improved_gan.games.plots`, :mod:`~improved_gan.games.sweep`,
  :mod:`~improved_gan.games.experiment`: the pictures and tables of docs/games.md.
"""

from improved_gan.games.games import GAMES, BilinearGame, Game, KinkedGame, get_game
from improved_gan.games.players import Players
from improved_gan.games.rules import RULES, UpdateRule, make_rule
from improved_gan.games.runner import Method, Trajectory, default_methods, run_game

__all__ = [
    "GAMES",
    "RULES",
    "BilinearGame",
    "Game",
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
