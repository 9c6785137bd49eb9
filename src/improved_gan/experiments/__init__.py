"""The paper's experiments: named presets, the Table 3 ablations, and the commands that reproduce tables.

=====================  ============================================================
module                 what it holds
=====================  ============================================================
``presets``            every experiment of the paper as a named, documented config
``ablations``          Table 3's rows as configs (one technique removed each)
``table3``             trains and scores the Table 3 rows
``table1``             Table 1: every (labels, seed) run, ensembles, the table
=====================  ============================================================
"""
