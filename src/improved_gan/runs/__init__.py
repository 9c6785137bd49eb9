"""The run folder, the one policy every command follows for what it writes.

What a run folder holds and how its files are read and written (:mod:`.layout`, :mod:`.checkpoint`,
:mod:`.scores`), when a folder is recognisably ours and may be written, resumed or removed (:mod:`.guard`),
where any command may write an output (:mod:`.out_paths`, :mod:`.out_rules`), what a run's metrics say about
it (:mod:`.failures`, :mod:`.status`) and its report (:mod:`.report`). Training writes into run folders
through this package; nothing here trains.
"""
